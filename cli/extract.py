"""`casewise extract PATH --out FILE` and `casewise eval extract`: free text to structured rows, and its quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def extract(path: Annotated[Path, typer.Argument(help="a file or folder of the clinic's records")],
            out: Annotated[Path, typer.Option("--out", help="output table: .csv, .jsonl or .xlsx")],
            report: Annotated[Path | None, typer.Option(help="data-quality report (JSON); default OUT.quality.json")] = None,
            backend: Annotated[str | None, typer.Option(help="rules or llm (default: extract.backend)")] = None,
            data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder (default: settings)")] = None,
            ) -> None:
    """Extract diagnoses, treatments, outcomes and adverse events from de-identified records, with a quality report."""
    from casewise.errors import CasewiseError
    from casewise.settings import load_settings
    from indexing.extract_files import extract_path
    from indexing.extraction import make_extractor
    from indexing.extraction.export import FORMATS, write
    from indexing.extraction.quality import check

    if out.suffix.lower() not in FORMATS:
        raise CasewiseError(f"--out {out}: unknown format {out.suffix or '(none)'}; use {', '.join(FORMATS)}")
    overrides: dict[str, object] = {"data_dir": data_dir} if data_dir else {}
    settings = load_settings(**overrides)
    if backend is not None:
        if backend not in ("rules", "llm"):
            raise CasewiseError(f"--backend: unknown backend {backend!r}; valid: rules, llm")
        settings = settings.model_copy(update={"extract": settings.extract.model_copy(update={"backend": backend})})
    from app.runtime import Runtime

    rt = Runtime(settings)
    extractor = make_extractor(settings)
    batch = extract_path([path], settings, rt.deid, extractor)
    n = write(batch, out)
    quality = check(batch)
    report = report or out.with_name(out.name + ".quality.json")
    report.write_text(json.dumps(quality.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    typer.echo(f"wrote {n} rows from {batch.documents} documents to {out} (backend {extractor.name})")
    typer.echo(f"{quality.summary()}; report: {report}")
    fallbacks = sum(1 for r in batch.notes if r.extraction.fallback)
    if fallbacks:
        typer.echo(f"LLM output not used for {fallbacks} notes (rules fallback; see llm_fallback in the report)")
    for p, reason in batch.unreadable:
        typer.echo(f"unreadable {p}: {reason}", err=True)


def eval_extract(synth: Annotated[bool, typer.Option("--synth", help="the synthetic clinic (sample or --synth-dir)")] = False,
                 synth_dir: Annotated[Path | None, typer.Option(help="a folder written by `casewise synth`")] = None,
                 codiesp: Annotated[Path | None, typer.Option(help="CodiEsp split folder (text_files/ + *X.tsv)")] = None,
                 lexicon_split: Annotated[bool, typer.Option(help="CodiEsp: also a half-A span lexicon, on half B")] = False,
                 no_deid: Annotated[bool, typer.Option("--no-deid", help="synth: raw text (dates are scored)")] = False,
                 backend: Annotated[str, typer.Option(help="synth: rules or llm (the llm.* server)")] = "rules",
                 as_json: Annotated[bool, typer.Option("--json")] = False,
                 limit: Annotated[int | None, typer.Option(help="first N patients / documents only")] = None) -> None:
    """Extraction quality: per-field precision/recall on the synthetic clinic, span recall on CodiEsp."""
    from casewise.errors import CasewiseError
    from eval import extract_eval

    if not synth and synth_dir is None and codiesp is None:
        raise CasewiseError("give --synth [--synth-dir DIR] and/or --codiesp DIR")
    argv: list[str] = []
    if synth or synth_dir is not None:
        argv += ["--synth"] + ([str(synth_dir)] if synth_dir else [])
    if codiesp is not None:
        argv += ["--codiesp", str(codiesp)] + (["--lexicon-split"] if lexicon_split else [])
    argv += ["--backend", backend] + (["--no-deid"] if no_deid else []) + (["--json"] if as_json else []) + (
        ["--limit", str(limit)] if limit else [])
    raise typer.Exit(extract_eval.main(argv) or 0)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("extract")(extract)
    eval_app.command("extract")(eval_extract)
