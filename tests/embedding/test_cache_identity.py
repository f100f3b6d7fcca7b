"""The vector cache's key tells apart what the index's identity does not: the ONNX file that ran the model."""

from __future__ import annotations

from casewise.embedding import MINILM
from casewise.embedding.cache import cache_identity
from casewise.embedding.factory import build_embedder
from casewise.settings import EmbeddingSettings


def test_the_vector_cache_tells_int8_from_fp32_vectors_of_one_model() -> None:
    """Both precisions share the model's identity (the index keeps its vectors across a backend switch), but their
    vectors differ slightly: the vector cache never hands one's vectors to the other."""
    int8 = build_embedder(EmbeddingSettings(model=MINILM, precision="int8"))
    fp32 = build_embedder(EmbeddingSettings(model=MINILM, precision="fp32"))
    assert int8.identity == fp32.identity
    assert cache_identity(int8) != cache_identity(fp32)
    assert cache_identity(int8) == cache_identity(build_embedder(EmbeddingSettings(model=MINILM, precision="int8")))
