"""Builds the configured embedder, once per process and configuration (`get_embedder`)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from casewise.embedding import BACKENDS, E5_SMALL, ENSEMBLES, Embedder
from casewise.embedding.models import cache_dir, precision, read_json, resolve_model_path
from casewise.errors import ConfigError
from casewise.settings import EmbeddingSettings

log = logging.getLogger("casewise.embedding")


def choose_backend(settings: EmbeddingSettings) -> str:
    """The backend that will run `settings`: explicit choice, else onnx on CPU and sentence-transformers on GPU."""
    backend = settings.backend
    if backend not in BACKENDS:
        raise ConfigError(f"embedding.backend: unknown backend {backend!r}; valid: {list(BACKENDS)}")
    if settings.model in ENSEMBLES:  # each part picks its own (e5 always onnx)
        return "onnx" if backend == "auto" and settings.device == "cpu" else backend
    if settings.model == E5_SMALL:
        if backend == "sentence-transformers":
            raise ConfigError(f"embedding.model {E5_SMALL} runs only on the onnx backend (set embedding.backend=onnx or auto)")
        return "onnx"
    if backend == "auto":
        return "onnx" if settings.device == "cpu" else "sentence-transformers"
    return backend


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """A new embedder for `settings` (no process cache)."""
    backend = choose_backend(settings)
    if settings.model in ENSEMBLES:
        from casewise.embedding.ensemble import EnsembleEmbedder

        parts = []
        for model, weight in ENSEMBLES[settings.model]:
            part = settings.model_copy(update={"model": model, "query_prefix": "", "passage_prefix": "",
                                               "backend": "onnx" if model == E5_SMALL else settings.backend})
            parts.append((get_embedder(part), weight))
        return EnsembleEmbedder(settings.model, parts)
    if settings.model == E5_SMALL:
        from casewise.embedding.e5 import E5Embedder

        threads = settings.threads
        return E5Embedder(settings, cache_dir=cache_dir(settings), precision=precision(settings),
                          threads=int(threads) if threads else None)  # type: ignore[call-overload]
    from casewise.embedding.onnx_embedder import OnnxEmbedder
    from casewise.embedding.st_embedder import SentenceTransformerEmbedder

    settings = with_folder_prompts(settings)

    if backend == "onnx":
        if settings.backend == "onnx":
            return OnnxEmbedder(settings)
        try:
            return OnnxEmbedder(settings)
        except ConfigError as exc:
            # auto: a folder the exporter does not handle (CLS pooling, another architecture) still works.
            log.warning("embedding: onnx backend unavailable for %s (%s); using sentence-transformers", settings.model, exc)
    return SentenceTransformerEmbedder(settings)


def with_folder_prompts(settings: EmbeddingSettings) -> EmbeddingSettings:
    """A folder that records query/passage prompts (an adapted e5: "query: " / "passage: ") gets them, unless set."""
    if settings.query_prefix or settings.passage_prefix:
        return settings
    prompts = read_json(Path(resolve_model_path(settings.model)) / "config_sentence_transformers.json").get("prompts") or {}
    if not (prompts.get("query") or prompts.get("passage")):
        return settings
    return settings.model_copy(update={"query_prefix": prompts.get("query") or "",
                                       "passage_prefix": prompts.get("passage") or ""})


_CACHE: dict[tuple[str, ...], Embedder] = {}
_CACHE_LOCK = threading.RLock()  # re-entered: an ensemble gets its parts through get_embedder


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    """Build the embedder once per (model, device, backend, precision) per process."""
    key = (settings.model, settings.device, choose_backend(settings), precision(settings),
           settings.query_prefix, settings.passage_prefix)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = build_embedder(settings)
        return _CACHE[key]
