"""Transformer encoders run with ONNX Runtime: export once from a model folder, cache the file, reuse it.

A sentence-transformers BERT-style folder (mean pooling) is exported with torch's TorchScript exporter into one graph
that takes token ids and attention mask and returns the L2-normalised sentence vector; onnxruntime's transformer
optimizer fuses attention/LayerNorm/GELU and, optionally, weights are quantized to int8 (dynamic quantization).
The cache key is a hash of the weights, the config and the export recipe, so a changed model never reuses a stale file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from casewise.embedding.dedupe import encode_once
from casewise.errors import ConfigError

log = logging.getLogger(__name__)

EXPORT_RECIPE = "casewise-onnx-v2"  # bump when the exported graph changes, to invalidate caches
Precision = Literal["fp32", "int8"]
EXPORT_COUNT = 0  # exports done by this process (tests check that a cached file is reused)
_EXPORT_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """Where exported models live when settings name no cache directory."""
    return Path.home() / ".cache" / "casewise" / "models"


def file_digest(paths: Sequence[Path], extra: str = "") -> str:
    """sha256 over the bytes of `paths` (in order) and `extra`."""
    h = hashlib.sha256(extra.encode("utf-8"))
    for p in paths:
        h.update(p.name.encode("utf-8"))
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def weights_identity(name: str, paths: list[Path], passage_prefix: str = "") -> str:
    """`name@<digest>`: what the index records of the model that wrote its vectors.

    The digest covers the weights and configuration (not the runtime: the onnx export and sentence-transformers of
    one folder give the same vectors, so switching backend or precision keeps the index) and the passage prefix.
    Another model, or the same folder trained again, gets another identity, and the index is rebuilt.
    """
    return f"{name}@{file_digest(paths, extra=f'passage-prefix:{passage_prefix}')[:16]}"


def cache_folder(cache_dir: Path, model_name: str, digest: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", model_name).strip("-")[-48:] or "model"
    return cache_dir / f"{slug}-{digest[:16]}"


def ensure_onnx(folder: Path, build_fp32: Callable[[Path], None], precision: Precision) -> Path:
    """Return the cached ONNX file for `precision`, building it (fp32 export, then int8) only if missing.

    An fp32 file exported only to be quantized is deleted afterwards: the default runs int8, and the fp32 copy is
    3-4x its size (449 MB against 133 MB for e5-small). One that was already there (asked for by an fp32 run) stays.
    Files are written to a temporary name and renamed, so a crash never leaves a half-written model in the cache.
    """
    global EXPORT_COUNT
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    target = fp32 if precision == "fp32" else folder / "model.int8.onnx"
    with _EXPORT_LOCK, _quiet_export():
        if target.exists():
            return target
        exported_now = not fp32.exists()
        if exported_now:
            log.info("exporting the embedding model to ONNX (once; cached in %s)", folder)
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                raw = Path(tmp) / "raw.onnx"
                build_fp32(raw)
                opt = Path(tmp) / "opt.onnx"
                _optimize(raw, opt)
                os.replace(opt, fp32)
            EXPORT_COUNT += 1
        if precision == "int8":
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # The FFN down-projections see outlier activations; int8 there costs most of the accuracy
            # (mean cosine to fp32 0.987 -> 0.994 on CodiEsp chunks when they stay fp32) for ~15 % of the speed-up.
            graph = onnx.load(str(fp32), load_external_data=False).graph
            keep_fp32 = [n.name for n in graph.node
                         if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name]
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                q = Path(tmp) / "q.onnx"
                quantize_dynamic(str(fp32), str(q), weight_type=QuantType.QInt8, per_channel=True,
                                 nodes_to_exclude=keep_fp32,
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                os.replace(q, target)
            EXPORT_COUNT += 1
            if exported_now:
                fp32.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """The one-time export talks to the terminal (transformers' "Loading weights" bar, onnxruntime's root-logger
    advice with a URL on every quantization): silenced unless the log level is DEBUG (`--verbose`)."""
    root = logging.getLogger()
    if root.getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    level = root.level
    bars = None
    try:
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers ships with sentence-transformers
        pass
    own = log.level
    log.setLevel(logging.WARNING)  # our own warnings (a skipped optimisation) still show
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        log.setLevel(own)
        if bars:
            hf_logging.enable_progress_bar()


def _optimize(src: Path, dst: Path) -> None:
    """Fuse attention, LayerNorm and GELU (onnxruntime's BERT optimizer); fall back to the plain graph."""
    import onnx

    try:
        from onnxruntime.transformers.optimizer import optimize_model

        model = onnx.load(str(src))
        num_heads = hidden = 0
        for attr in model.metadata_props:
            if attr.key == "num_heads":
                num_heads = int(attr.value)
            elif attr.key == "hidden_size":
                hidden = int(attr.value)
        opt = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden, opt_level=1)
        opt.save_model_to_file(str(dst))
    except Exception as exc:  # noqa: BLE001 - optimizer versions differ; the raw graph is correct, only slower
        log.warning("ONNX graph optimisation skipped (%s)", type(exc).__name__)
        os.replace(src, dst)


def export_bert_mean_pooled(model: object, out: Path, *, num_heads: int, hidden: int) -> None:
    """Export a transformers encoder + mean pooling + L2 normalisation as one ONNX graph.

    Inputs: input_ids, attention_mask (int64, [batch, seq]); output: embedding (float32, [batch, hidden]).
    """
    import onnx
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, enc: torch.nn.Module) -> None:
            super().__init__()
            self.enc = enc

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden_states = self.enc(input_ids=input_ids, attention_mask=attention_mask,
                                     token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
            summed = (hidden_states * mask).sum(dim=1)
            mean = summed / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    wrapped = Pooled(model).eval()  # type: ignore[arg-type]
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (ids, mask), str(out), dynamo=False, input_names=["input_ids", "attention_mask"],
            output_names=["embedding"], opset_version=17,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "embedding": {0: "batch"}},
        )
    m = onnx.load(str(out))
    for key, value in (("num_heads", num_heads), ("hidden_size", hidden)):
        p = m.metadata_props.add()
        p.key, p.value = key, str(value)
    onnx.save(m, str(out))


Tokenize = Callable[[list[str]], list[list[int]]]


class OnnxEncoder:
    """Runs an exported graph (ids + mask -> normalised vector) on batches sorted by length, each distinct text once.

    `dedupe = False` encodes every text, repeats included: the baseline `bench.embed --duplicates` measures against.
    """

    def __init__(self, onnx_path: Path, tokenize: Tokenize, dim: int, *, pad_id: int, batch_size: int = 32,
                 threads: int | None = None, dedupe: bool = True) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ConfigError(f"embedding: cannot load the ONNX model {onnx_path} ({exc}); delete it to re-export") from exc
        self._tokenize = tokenize
        self._pad = pad_id
        self.dim = dim
        self.batch_size = batch_size
        self.dedupe = dedupe
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, in the order of `texts`; a repeated text is encoded once and its vector reused."""
        return encode_once(self.encode_each, texts) if self.dedupe else self.encode_each(texts)

    def encode_each(self, texts: list[str]) -> np.ndarray:
        """Like `encode`, but every text runs through the model, repeats included."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenize(texts)
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                width = max(len(ids[i]) for i in idx)
                batch = np.full((len(idx), width), self._pad, dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for row, i in enumerate(idx):
                    batch[row, : len(ids[i])] = ids[i]
                    mask[row, : len(ids[i])] = 1
                vecs = self._session.run(["embedding"], {"input_ids": batch, "attention_mask": mask})[0]
                out[idx] = vecs
        # Renormalise: int8 graphs drift slightly from unit length.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)
