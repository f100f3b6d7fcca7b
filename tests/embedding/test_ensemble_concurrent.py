"""The default pair runs its two models at the same time, each on its share of the cores: same vectors as running
them one after the other on every core, from any number of calling threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from casewise.embedding import ENSEMBLES, MINILM_E5
from casewise.embedding.ensemble import EnsembleEmbedder
from casewise.embedding.factory import build_embedder
from casewise.settings import EmbeddingSettings

TEXTS = [
    "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs; se pauta PRP intraarticular.",
    "62-year-old man with knee osteoarthritis, VAS 7/10 despite NSAIDs; hyaluronic acid injection.",
    "Tendinopatía rotuliana crónica sin mejoría tras fisioterapia.",
    "No adverse events were reported after the injection.",
] * 3


def test_concurrent_parts_give_the_vectors_of_parts_in_turn_on_every_core() -> None:
    default = build_embedder(EmbeddingSettings())
    assert isinstance(default, EnsembleEmbedder) and default.concurrent
    in_turn = EnsembleEmbedder(MINILM_E5, [(build_embedder(EmbeddingSettings(model=m)), w)
                                           for m, w in ENSEMBLES[MINILM_E5]], concurrent=False)
    assert in_turn.identity == default.identity, "how the parts are scheduled is not part of the model"
    a, b = default.embed_passages(TEXTS), in_turn.embed_passages(TEXTS)
    assert a.shape == (len(TEXTS), 768) and a.dtype == np.float32
    assert float(np.min((a * b).sum(1))) > 0.9999
    q, r = default.embed_queries(TEXTS[:2]), in_turn.embed_queries(TEXTS[:2])
    assert float(np.min((q * r).sum(1))) > 0.9999


def test_callers_in_several_threads_each_get_their_own_vectors() -> None:
    default = build_embedder(EmbeddingSettings())
    alone = [default.embed_passages([t]) for t in TEXTS[:4]]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: default.embed_passages([t]), TEXTS[:4]))
    for x, y in zip(alone, together, strict=True):
        assert np.allclose(x, y, atol=1e-6)


def test_the_vector_cache_tells_int8_from_fp32_vectors_of_one_model() -> None:
    """Both precisions share the model's identity (the index keeps its vectors across a backend switch), but their
    vectors differ slightly: the vector cache never hands one's vectors to the other."""
    from casewise.embedding import MINILM
    from casewise.embedding.cache import cache_identity

    int8 = build_embedder(EmbeddingSettings(model=MINILM, precision="int8"))
    fp32 = build_embedder(EmbeddingSettings(model=MINILM, precision="fp32"))
    assert int8.identity == fp32.identity
    assert cache_identity(int8) != cache_identity(fp32)
    assert cache_identity(int8) == cache_identity(build_embedder(EmbeddingSettings(model=MINILM, precision="int8")))
