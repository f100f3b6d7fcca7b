"""Training configuration: one YAML file per run (GPU run for HuatuoGPT-o1, CPU smoke run on the bundled tiny model)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casewise.errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1, le=512)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class TrainConfig(BaseModel):
    """What `casewise finetune train` needs; field names follow transformers' TrainingArguments where they exist."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = Field(description="hub id (in the local HF cache), a folder, or bundled:smollm2-135m")
    serve_base_model: str | None = Field(
        None, description="id vLLM serves the base under; written as the adapter's base_model_name_or_path")
    device: Literal["cpu", "cuda"] = "cuda"
    precision: Literal["fp32", "bf16", "fp16"] = "bf16"
    max_seq_length: int = Field(4096, ge=32, le=131072)
    learning_rate: float = Field(1e-4, gt=0, lt=1)
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (smoke runs)")
    per_device_batch_size: int = Field(2, ge=1)
    gradient_accumulation_steps: int = Field(8, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.1, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    gradient_checkpointing: bool = True
    seed: int = 42
    lora: LoraSettings = Field(default_factory=LoraSettings)

    def served_id(self) -> str:
        return self.serve_base_model or self.base_model


def load_config(path: Path | str) -> TrainConfig:
    """A config by path, or by name of a bundled config (`huatuogpt-o1-8b`, `cpu-smollm2` ...)."""
    p = Path(path)
    if not p.suffix and not p.exists():
        p = CONFIG_DIR / f"{path}.yaml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        names = ", ".join(sorted(x.stem for x in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"{p}: no such training config (bundled: {names})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({type(exc).__name__})") from None
    try:
        return TrainConfig.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{p}: {problems}") from None
