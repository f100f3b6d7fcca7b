"""`casewise finetune build-data | train | export`: the light fine-tuning workflow.

Only typer is imported at module level (torch, transformers and trl load inside the commands).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

finetune_app = typer.Typer(no_args_is_help=True, help="LoRA SFT of the reasoning model on the clinic's de-identified cases.")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Casewise data folder (default: settings)")]


@finetune_app.command("build-data")
def build_data(
    out: Annotated[Path, typer.Option("--out", help="folder for train.json, test.json and the data card")],
    data_dir: DataDir = None,
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.99, help="share of patients held out")] = 0.2,
    max_chars: Annotated[int, typer.Option(min=200, help="longest row (question + reasoning + response)")] = 6000,
    seed: Annotated[int, typer.Option(help="changes which patients are held out")] = 0,
    reasoning: Annotated[str, typer.Option(help="auto (LLM when configured), llm or template")] = "auto",
) -> None:
    """SFT rows (HuatuoGPT-o1 format) from the indexed store's de-identified cases, split by patient."""
    from casewise.errors import ConfigError
    from cli.common import runtime
    from reasoning.finetune.card import data_card, write_card
    from reasoning.finetune.data import DataError, build_rows, load_cases, write_rows

    if reasoning not in ("auto", "llm", "template"):
        raise ConfigError(f"--reasoning: {reasoning!r} is not one of auto, llm, template")
    rt = runtime(data_dir)
    cases = load_cases(rt.store)
    if not cases:
        raise DataError(f"{rt.settings.data_dir}: the store holds no cases; run `casewise index <folder>` first")
    llm = None
    if reasoning != "template":
        llm = rt.llm
        if llm is None and reasoning == "llm":
            raise ConfigError("--reasoning llm: llm.backend is none; configure an LLM or use --reasoning template")
    result = build_rows(cases, detector=rt.deid, llm=llm, test_fraction=test_fraction, max_chars=max_chars, seed=seed)  # type: ignore[arg-type]
    write_rows(result.train, out / "train.json")
    write_rows(result.test, out / "test.json")
    card = data_card(result)
    _js, md = write_card(card, out)
    typer.echo(f"wrote {len(result.train)} train and {len(result.test)} test rows from {result.cases_seen} cases to "
               f"{out}; dropped {dict(result.dropped) or 'none'}; card: {md}")


@finetune_app.command("train")
def train_cmd(
    data: Annotated[Path, typer.Option("--data", help="train.json written by build-data")],
    out: Annotated[Path, typer.Option("--out", help="folder for the adapter and train_result.json")],
    config: Annotated[str, typer.Option(help="a YAML file, or a bundled config: huatuogpt-o1-8b, huatuogpt-o1-7b, "
                                             "cpu-smollm2")] = "huatuogpt-o1-8b",
    max_steps: Annotated[int | None, typer.Option(min=1, help="override the config's max_steps")] = None,
) -> None:
    """Train a LoRA adapter (TRL SFTTrainer, loss on the response only)."""
    from casewise.offline import enforce_offline
    from reasoning.finetune.config import load_config
    from reasoning.finetune.data import read_rows
    from reasoning.finetune.train import train

    enforce_offline()
    cfg = load_config(config)
    if max_steps is not None:
        cfg = cfg.model_copy(update={"max_steps": max_steps})
    result = train(cfg, read_rows(data), out)
    typer.echo(f"trained {result.steps} steps on {result.rows} rows in {result.seconds:.1f} s; "
               f"probe loss {result.probe_loss_before:.3f} -> {result.probe_loss_after:.3f}; adapter: {result.adapter_dir}")


@finetune_app.command("export")
def export_cmd(
    adapter: Annotated[Path, typer.Option("--adapter", help="the adapter folder written by train")],
    out: Annotated[Path, typer.Option("--out", help="folder to give vLLM's --lora-modules NAME=FOLDER")],
    base_model: Annotated[str | None, typer.Option(help="id vLLM serves the base under (default: from the "
                                                        "train_result.json next to the adapter)")] = None,
) -> None:
    """Write the adapter in vLLM's --lora-modules layout and check it."""
    from reasoning.finetune.export import ExportError, export_adapter

    if not adapter.is_dir():
        raise ExportError(f"{adapter}: no such adapter folder (train writes it as <out>/adapter)")
    if base_model is None:
        result = adapter.parent / "train_result.json"
        if not result.is_file():
            raise ExportError(f"{result}: missing; pass --base-model (e.g. FreedomIntelligence/HuatuoGPT-o1-8B)")
        base_model = str(json.loads(result.read_text(encoding="utf-8"))["serve_base_model"])
    exported = export_adapter(adapter, out, base_model=base_model)
    typer.echo(f"exported a rank-{exported.r} LoRA adapter ({exported.tensors} tensors on "
               f"{', '.join(exported.target_modules)}) for {exported.base_model} to {out}\n"
               f"serve: vllm serve {exported.base_model} --enable-lora --max-lora-rank {max(exported.r, 16)} "
               f"--lora-modules casewise={out.resolve()}")


def register(app: typer.Typer) -> None:
    """Add `finetune` to the root CLI."""
    app.add_typer(finetune_app, name="finetune")
