"""Export a trained LoRA adapter in the layout vLLM's `--lora-modules NAME=PATH` loads.

vLLM reads PEFT's two files from the folder: adapter_config.json (with r, lora_alpha, target_modules and
base_model_name_or_path) and adapter_model.safetensors (tensor names `base_model.model.<module>.lora_A/B.weight`).
It does not load `modules_to_save` beyond embeddings/lm_head and needs no tokenizer when no token was added, so
the export carries the two files only and checks that vLLM will accept them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from casewise.errors import CasewiseError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
TENSOR_PREFIX = "base_model.model."


class ExportError(CasewiseError):
    """An adapter cannot be exported (missing files, a layout vLLM does not load)."""


@dataclass(frozen=True)
class ExportedAdapter:
    path: Path
    base_model: str
    r: int
    target_modules: list[str]
    tensors: int


def export_adapter(adapter_dir: Path, out_dir: Path, *, base_model: str) -> ExportedAdapter:
    """Copy the adapter to `out_dir` with `base_model_name_or_path` = the id vLLM serves the base model under."""
    src_cfg, src_w = adapter_dir / CONFIG_FILE, adapter_dir / WEIGHTS_FILE
    for f in (src_cfg, src_w):
        if not f.is_file():
            raise ExportError(f"{f}: missing; is {adapter_dir} the `adapter` folder written by `casewise finetune train`?")
    try:
        config = json.loads(src_cfg.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"{src_cfg}: not valid JSON ({type(exc).__name__})") from None
    if config.get("peft_type") != "LORA":
        raise ExportError(f"{src_cfg}: peft_type is {config.get('peft_type')!r}; vLLM serves LORA adapters only")
    if config.get("modules_to_save"):
        raise ExportError(f"{src_cfg}: modules_to_save={config['modules_to_save']} is not loaded by vLLM; "
                          "train without it")
    config["base_model_name_or_path"] = base_model
    config["inference_mode"] = True
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    shutil.copyfile(src_w, out_dir / WEIGHTS_FILE)
    return check_vllm_layout(out_dir)


def check_vllm_layout(path: Path) -> ExportedAdapter:
    """Raise ExportError unless `path` holds an adapter vLLM's --lora-modules can load."""
    from safetensors import safe_open

    cfg_file, w_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not cfg_file.is_file() or not w_file.is_file():
        raise ExportError(f"{path}: needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    config = json.loads(cfg_file.read_text(encoding="utf-8"))
    for key in ("r", "lora_alpha", "target_modules", "base_model_name_or_path"):
        if not config.get(key):
            raise ExportError(f"{cfg_file}: field {key!r} is missing")
    targets = config["target_modules"]
    targets = sorted(targets) if isinstance(targets, list) else [str(targets)]
    with safe_open(str(w_file), framework="pt") as f:
        names = list(f.keys())
    if not names:
        raise ExportError(f"{w_file}: holds no tensors")
    bad = [n for n in names if not n.startswith(TENSOR_PREFIX) or not (".lora_A." in n or ".lora_B." in n)]
    if bad:
        raise ExportError(f"{w_file}: {len(bad)} tensor(s) are not LoRA A/B weights under {TENSOR_PREFIX!r} "
                          f"(first: {bad[0]})")
    return ExportedAdapter(path=path, base_model=config["base_model_name_or_path"], r=int(config["r"]),
                           target_modules=targets, tensors=len(names))
