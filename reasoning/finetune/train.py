"""LoRA SFT with TRL's SFTTrainer + PEFT, loss on the response only (as HuatuoGPT-o1's SFT_stage1.py).

Each row becomes a conversational prompt-completion pair: the user turn is `Question`, the assistant turn is
"## Thinking\\n\\n{Complex_CoT}\\n\\n## Final Response\\n\\n{Response}". The model's chat template renders both and
TRL masks the prompt's tokens out of the labels (completion_only_loss), exactly the -100 mask SFT_stage1.py builds.
One difference: SFT_stage1.py keeps the last `max_seq_len` tokens of a long row, TRL keeps the first; rows are
length-limited when built, so no row reaches the limit in practice.

To show that training did something, the masked loss of a fixed probe (the first training rows) is measured
before and after, on the same tokens, in the same process.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casewise.errors import CasewiseError
from reasoning.finetune.config import TrainConfig
from reasoning.finetune.data import SFTRow
from reasoning.finetune.models import load_base

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
RESULT_FILE = "train_result.json"
PROBE_ROWS = 4


class TrainError(CasewiseError):
    """Training cannot start or failed (no rows, bad config, device missing)."""


@dataclass
class TrainResult:
    adapter_dir: str
    base_model: str
    serve_base_model: str
    rows: int
    steps: int
    step_losses: list[float] = field(default_factory=list)
    probe_loss_before: float | None = None
    probe_loss_after: float | None = None
    seconds: float = 0.0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")


def to_conversation(row: SFTRow) -> dict[str, list[dict[str, str]]]:
    """The prompt-completion pair TRL trains on (user = Question, assistant = Thinking + Final Response)."""
    return {
        "prompt": [{"role": "user", "content": row.Question}],
        "completion": [{"role": "assistant", "content": row.target()}],
    }


def build_trainer(cfg: TrainConfig, rows: list[SFTRow], out_dir: Path, *, cache_dir: Path | None = None) -> Any:
    """An SFTTrainer with a fresh LoRA adapter on the base model (exposed so tests can inspect its label mask)."""
    if not rows:
        raise TrainError("no training rows: build the data first (`casewise finetune build-data`) on an indexed store")
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise TrainError("device: cuda, but no CUDA GPU is visible; use a GPU machine or the cpu-smollm2 config")
    # Weights load in fp32 for CPU and in the training precision on GPU (bf16 halves an 8B model to ~16 GB).
    dtype = cfg.precision if cfg.device == "cuda" else "fp32"
    model, tok = load_base(cfg.base_model, dtype=dtype, device=cfg.device, cache_dir=cache_dir)
    args = SFTConfig(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_length=cfg.max_seq_length,
        completion_only_loss=True,
        packing=False,
        gradient_checkpointing=cfg.gradient_checkpointing,
        bf16=cfg.device == "cuda" and cfg.precision == "bf16",
        fp16=cfg.device == "cuda" and cfg.precision == "fp16",
        use_cpu=cfg.device == "cpu",
        seed=cfg.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=cfg.device == "cuda",
        disable_tqdm=True,
    )
    lora = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")
    dataset = Dataset.from_list([to_conversation(r) for r in rows])
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok, peft_config=lora)


def probe_loss(trainer: Any, n: int = PROBE_ROWS) -> float:
    """Mean response-only loss over the first `n` processed training rows (no gradient)."""
    import torch

    ds = trainer.train_dataset
    items = [{k: v for k, v in ds[i].items() if k in ("input_ids", "completion_mask", "labels")}
             for i in range(min(n, len(ds)))]
    batch = trainer.data_collator(items)
    model = trainer.model
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                    labels=batch["labels"].to(device))
    if was_training:
        model.train()
    return float(out.loss.item())


def train(cfg: TrainConfig, rows: list[SFTRow], out_dir: Path, *, cache_dir: Path | None = None) -> TrainResult:
    """Train a LoRA adapter on `rows`; write it to out_dir/adapter and the figures to out_dir/train_result.json."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_trainer(cfg, rows, out_dir, cache_dir=cache_dir)
    before = probe_loss(trainer)
    trainer.train()
    after = probe_loss(trainer)
    losses = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
    if not losses or not all(math.isfinite(x) for x in losses):
        raise TrainError(f"training produced no finite loss ({losses[:3]}...): lower learning_rate or check the rows")
    adapter = out_dir / ADAPTER_DIR
    trainer.model.save_pretrained(str(adapter))
    result = TrainResult(adapter_dir=str(adapter), base_model=cfg.base_model, serve_base_model=cfg.served_id(),
                         rows=len(rows), steps=int(trainer.state.global_step), step_losses=losses,
                         probe_loss_before=before, probe_loss_after=after,
                         seconds=round(time.perf_counter() - started, 2))
    result.save(out_dir / RESULT_FILE)
    log.info("LoRA SFT: %d steps, probe loss %.3f -> %.3f in %.1f s", result.steps, before, after, result.seconds)
    return result
