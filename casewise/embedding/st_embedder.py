"""A sentence-transformers model loaded from a local folder: any model, any device (production, GPU)."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from casewise.embedding.dedupe import encode_once
from casewise.embedding.models import folder_identity, resolve_model_path
from casewise.errors import ConfigError
from casewise.offline import enforce_offline
from casewise.settings import EmbeddingSettings


class SentenceTransformerEmbedder:
    """sentence-transformers model loaded from a local folder (HF_HUB_OFFLINE=1); each distinct text of a call is
    encoded once (`dedupe = False` encodes every text: the baseline `bench.embed --duplicates` measures against)."""

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
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise ConfigError(f"embedding.model: {path!r} does not report its embedding dimension")
        self.dim = int(dim)
        self._lock = threading.Lock()  # torch modules are not safe to call from several threads at once
        self.dedupe = True

    def _encode(self, texts: list[str]) -> np.ndarray:
        return encode_once(self._encode_each, texts) if self.dedupe else self._encode_each(texts)

    def _encode_each(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=self._settings.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    @cached_property
    def identity(self) -> str:
        return folder_identity(self.name, Path(resolve_model_path(self.name)), self._settings.passage_prefix)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        p = self._settings.passage_prefix
        return self._encode([p + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        p = self._settings.query_prefix
        return self._encode([p + t for t in texts])
