"""A text repeated inside one embed call (boilerplate headers, section templates) runs through the model once.

Real models (bundled MiniLM on ONNX and on sentence-transformers, the default MiniLM + e5 pair); the model calls are
counted by wrapping the real onnxruntime session or torch module, which still computes every vector.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from casewise.embedding import MINILM, MINILM_E5, Embedder
from casewise.embedding.ensemble import EnsembleEmbedder
from casewise.embedding.factory import get_embedder
from casewise.embedding.onnx_embedder import OnnxEmbedder
from casewise.embedding.onnx_export import OnnxEncoder
from casewise.embedding.st_embedder import SentenceTransformerEmbedder
from casewise.settings import EmbeddingSettings

HEADER = "INFORME DE CONSULTA - Servicio de Traumatología y Cirugía Ortopédica"
TEMPLATE = "Exploración física: sin hallazgos relevantes. Plan: control en 3 meses."
NOTES = [
    "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs; infiltración de PRP en la rodilla derecha.",
    "62-year-old man with lateral epicondylitis of the dominant elbow, treated with physiotherapy.",
    "Plantar fasciitis: extracorporeal shock wave therapy, heel pain resolved after four sessions.",
]
# Repeats at the start, middle and end, next to each other and apart, so order and reuse are both exercised.
BATCH = [HEADER, NOTES[0], TEMPLATE, HEADER, NOTES[1], HEADER, TEMPLATE, NOTES[2], NOTES[0], HEADER]
DISTINCT = list(dict.fromkeys(BATCH))


class CountingSession:
    """The real onnxruntime session, recording the token ids of every row it encodes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.rows: list[tuple[int, ...]] = []

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> Any:
        for ids, mask in zip(feeds["input_ids"], feeds["attention_mask"], strict=True):
            self.rows.append(tuple(int(i) for i in ids[mask.astype(bool)]))
        return self.inner.run(names, feeds)


def _count_onnx(monkeypatch: pytest.MonkeyPatch, encoder: OnnxEncoder) -> CountingSession:
    counting = CountingSession(encoder._session)
    monkeypatch.setattr(encoder, "_session", counting)
    return counting


def _onnx_encoders(embedder: Embedder) -> list[OnnxEncoder]:
    parts = [e for e, _ in embedder.parts] if isinstance(embedder, EnsembleEmbedder) else [embedder]
    encoders = [getattr(p, "encoder", None) for p in parts]
    assert all(isinstance(e, OnnxEncoder) for e in encoders)
    return encoders  # type: ignore[return-value]


def _tokens_of_each_once(monkeypatch: pytest.MonkeyPatch, embedder: Embedder, encoder: OnnxEncoder) -> Counter:
    """The rows the model sees when it encodes the distinct texts one call each: what the batch must cost."""
    counting = _count_onnx(monkeypatch, encoder)
    for text in DISTINCT:
        embedder.embed_passages([text])
    monkeypatch.setattr(encoder, "_session", counting.inner)
    return Counter(counting.rows)


@pytest.mark.parametrize("model", [MINILM, MINILM_E5])
def test_onnx_batch_with_repeats_gives_each_texts_own_vector_in_order(model: str) -> None:
    embedder = get_embedder(EmbeddingSettings(model=model, backend="onnx"))
    together = embedder.embed_passages(BATCH)
    alone = np.stack([embedder.embed_passages([t])[0] for t in BATCH])
    assert together.shape == (len(BATCH), embedder.dim) and together.dtype == np.float32
    sims = together @ alone.T
    # int8 graphs move a vector slightly with its batch-mates (see the contract), so by cosine, not bit for bit.
    assert np.diag(sims).min() >= 0.98
    for i, text in enumerate(BATCH):
        same = [j for j, t in enumerate(BATCH) if t == text]
        assert np.array_equal(together[same], np.repeat(together[i:i + 1], len(same), axis=0))  # the one vector, reused
        assert sims[i].argmax() in same


@pytest.mark.parametrize("model", [MINILM, MINILM_E5])
def test_onnx_encodes_each_distinct_text_once(monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    embedder = get_embedder(EmbeddingSettings(model=model, backend="onnx"))
    encoders = _onnx_encoders(embedder)
    expected = [_tokens_of_each_once(monkeypatch, embedder, enc) for enc in encoders]
    counters = [_count_onnx(monkeypatch, enc) for enc in encoders]
    embedder.embed_passages(BATCH)
    for counting, want in zip(counters, expected, strict=True):
        assert len(counting.rows) == len(DISTINCT) < len(BATCH)
        assert Counter(counting.rows) == want


def test_onnx_without_dedupe_encodes_every_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The switch bench.embed's baseline uses really does run the repeats."""
    embedder = get_embedder(EmbeddingSettings(model=MINILM, backend="onnx"))
    assert isinstance(embedder, OnnxEmbedder)
    counting = _count_onnx(monkeypatch, embedder.encoder)
    monkeypatch.setattr(embedder.encoder, "dedupe", False)
    each = embedder.embed_passages(BATCH)
    assert len(counting.rows) == len(BATCH)
    monkeypatch.setattr(embedder.encoder, "dedupe", True)
    once = embedder.embed_passages(BATCH)
    assert ((each * once).sum(axis=1)).min() >= 0.98


def test_sentence_transformers_batch_with_repeats_runs_the_model_on_each_distinct_text_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder(EmbeddingSettings(model=MINILM, backend="sentence-transformers"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    model = embedder._model
    rows: list[tuple[int, ...]] = []
    real_forward = model.forward

    def counting_forward(features: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        for ids, mask in zip(features["input_ids"], features["attention_mask"], strict=True):
            rows.append(tuple(int(i) for i in ids[mask.bool()]))
        return real_forward(features, *args, **kwargs)

    alone = np.stack([embedder.embed_passages([t])[0] for t in BATCH])
    monkeypatch.setattr(model, "forward", counting_forward)
    together = embedder.embed_passages(BATCH)
    assert len(rows) == len(set(rows)) == len(DISTINCT)
    # fp32 torch: a vector does not depend on its batch-mates beyond float noise.
    np.testing.assert_allclose(together, alone, atol=1e-5)
