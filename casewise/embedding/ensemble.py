"""Two embedders as one: their unit vectors, weighted and concatenated, so one dot product sums weighted cosines.

For unit vectors a (model A) and b (model B), the vector [sqrt(wa) a, sqrt(wb) b] / sqrt(wa + wb) has unit length, and
the dot product of two such vectors is (wa cos_A + wb cos_B) / (wa + wb). The index, filters and fusion see one dense
vector and need no change; only its size grows (384 + 384 = 768 for MiniLM + e5).

The bundled default, ``bundled:minilm+e5``, joins English MiniLM (strong on English to English) and multilingual
e5-small (Spanish and cross-lingual). e5's cosines spread ~5x less than MiniLM's (0.02 against 0.10 standard deviation
on CodiEsp), so it weighs 3 to MiniLM's 1; the weight was chosen on the even-numbered half of CodiEsp's queries
(eval.retrieval_eval) and checked on the odd half.

The parts run at the same time, each in a thread of its own, and their batches in one shared pool of threads with a
few cores each (casewise.embedding.factory): onnxruntime releases the GIL, batches of both models on one core each
waste less on synchronising threads than one batch on every core, and no core waits for the slower model's last
batches (bench.embed: the pair's throughput as a share of MiniLM's alone, concurrent against parts in turn).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np

from casewise.embedding import Embedder


class EnsembleEmbedder:
    """Weighted concatenation of L2-normalised vectors from several embedders."""

    def __init__(self, name: str, parts: Sequence[tuple[Embedder, float]], *, concurrent: bool = True) -> None:
        if not parts or any(w <= 0 for _, w in parts):
            raise ValueError("an ensemble needs at least one embedder, each with a positive weight")
        self.name = name
        self.parts = list(parts)
        self.concurrent = concurrent  # False: one part after the other (the baseline bench.embed compares with)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        total = sum(w for _, w in parts)
        self._scales = [math.sqrt(w / total) for _, w in parts]
        self.dim = sum(e.dim for e, _ in parts)

    @cached_property
    def identity(self) -> str:
        return f"{self.name}(" + ",".join(f"{e.identity}*{w:g}" for e, w in self.parts) + ")"

    def _join(self, blocks: list[np.ndarray]) -> np.ndarray:
        return np.hstack([s * np.asarray(b, dtype=np.float32) for s, b in zip(self._scales, blocks, strict=True)])

    def _each(self, calls: list[Callable[[list[str]], np.ndarray]], texts: list[str]) -> list[np.ndarray]:
        if not self.concurrent or len(calls) == 1:
            return [call(texts) for call in calls]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(len(calls), thread_name_prefix="ensemble")
            pool = self._pool
        return [f.result() for f in [pool.submit(call, texts) for call in calls]]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join(self._each([e.embed_passages for e, _ in self.parts], texts))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._join(self._each([e.embed_queries for e, _ in self.parts], texts))
