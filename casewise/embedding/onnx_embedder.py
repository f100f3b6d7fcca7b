"""A sentence-transformers folder exported once to ONNX and run with onnxruntime: the CPU default."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from casewise.embedding.models import cache_dir, folder_identity, precision, read_json, resolve_model_path
from casewise.errors import ConfigError
from casewise.offline import enforce_offline
from casewise.settings import EmbeddingSettings


class OnnxEmbedder:
    """A sentence-transformers folder (BERT-style encoder, mean pooling) exported once to ONNX and run with onnxruntime.

    Same vectors as sentence-transformers (cosine >= 0.99 in int8, ~1.0 in fp32), several times faster on CPU.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        enforce_offline()
        from tokenizers import Tokenizer

        from casewise.embedding.onnx_export import (
            EXPORT_RECIPE,
            OnnxEncoder,
            cache_folder,
            ensure_onnx,
            export_bert_mean_pooled,
            file_digest,
        )

        folder = Path(resolve_model_path(settings.model))
        cfg = read_json(folder / "config.json")
        pooling = read_json(folder / "1_Pooling" / "config.json") if (folder / "1_Pooling").is_dir() else {}
        if pooling and not pooling.get("pooling_mode_mean_tokens"):
            raise ConfigError(f"embedding.model {folder}: the onnx backend supports mean pooling only; "
                              "set embedding.backend=sentence-transformers")
        weights = [p for p in (folder / "model.safetensors", folder / "pytorch_model.bin") if p.exists()][:1]
        tok_file = folder / "tokenizer.json"
        if not weights or not tok_file.exists():
            raise ConfigError(f"embedding.model {folder}: needs model.safetensors (or pytorch_model.bin) and tokenizer.json "
                              "for the onnx backend; set embedding.backend=sentence-transformers")
        max_len = int(read_json(folder / "sentence_bert_config.json").get("max_seq_length", 0)
                      or cfg.get("max_position_embeddings", 512))
        max_len = min(max_len, int(cfg.get("max_position_embeddings", max_len)))
        digest = file_digest([*weights, folder / "config.json", tok_file], extra=f"{EXPORT_RECIPE}:{max_len}")
        target = cache_folder(cache_dir(settings), settings.model, digest)
        heads, hidden = int(cfg.get("num_attention_heads", 0)), int(cfg.get("hidden_size", 0))

        def build(out: Path) -> None:
            from transformers import AutoModel

            model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
            export_bert_mean_pooled(model, out, num_heads=heads, hidden=hidden)

        try:
            onnx_path = ensure_onnx(target, build, precision(settings))  # type: ignore[arg-type]
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
        self.encoder = OnnxEncoder(onnx_path, tokenize, hidden, pad_id=pad_id, batch_size=settings.batch_size,
                                    threads=int(threads) if threads else None)  # type: ignore[call-overload]

    @cached_property
    def identity(self) -> str:
        return folder_identity(self.name, Path(resolve_model_path(self.name)), self._settings.passage_prefix)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        p = self._settings.passage_prefix
        return self.encoder.encode([p + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        p = self._settings.query_prefix
        return self.encoder.encode([p + t for t in texts])
