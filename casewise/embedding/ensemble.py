"""Two embedders as one: their unit vectors, weighted and concatenated, so one dot product sums weighted cosines.

For unit vectors a (model A) and b (model B), the vector [sqrt(wa) a, sqrt(wb) b] / sqrt(wa + wb) has unit length, and
the dot product of two such vectors is (wa cos_A + wb cos_B) / (wa + wb). The index, filters and fusion see one dense
vector and need no change; only its size grows (384 + 384 = 768 for MiniLM + e5).

The bundled default, ``bundled:minilm+e5``, joins English MiniLM (strong on English to English) and multilingual
e5-small (Spanish and cross-lingual). e5's cosines spread ~5x less than MiniLM's (0.02 against 0.10 standard deviation
on CodiEsp), so it weighs 3 to MiniLM's 1; the weight was chosen on the even-numbered half of CodiEsp's queries
(eval.retrieval_eval) and checked on the odd half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from casewise.embedding import Embedder


class EnsembleEmbedder:
    """Weighted concatenation of L2-normalised vectors from several embedders."""

    def __init__(self, name: str, parts: Sequence[tuple[Embedder, float]]) -> None:
        if not parts or any(w <= 0 for _, w in parts):
            raise ValueError("an ensemble needs at least one embedder, each with a positive weight")
        self.name = name
        self.parts = list(parts)
        total = sum(w for _, w in parts)
        self._scales = [math.sqrt(w / total) for _, w in parts]
        self.dim = sum(e.dim for e, _ in parts)

    @cached_property
    def identity(self) -> str:
        return f"{self.name}(" + ",".join(f"{e.identity}*{w:g}" for e, w in self.parts) + ")"

    def _join(self, blocks: list[np.ndarray]) -> np.ndarray:
        return np.hstack([s * np.asarray(b, dtype=np.float32) for s, b in zip(self._scales, blocks, strict=True)])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join([e.embed_passages(texts) for e, _ in self.parts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join([e.embed_queries(texts) for e, _ in self.parts])
