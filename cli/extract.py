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
                 codiesp: Annotated[Path | None, typer.Option(help="CodiEsp-format folder to score the ICD-10 coder on "
                                                               "(text_files/, text_files_en/, *D.tsv, *P.tsv, *X.tsv)")] = None,
                 train: Annotated[list[Path] | None, typer.Option(help="CodiEsp: folder(s) the coder learns from "
                                                                  "(repeatable); --codiesp DIR is held out")] = None,
                 folds: Annotated[int | None, typer.Option(min=2, help="CodiEsp: cross-validate within DIR "
                                                           "(fold = sha256(note id) mod K)")] = None,
                 language: Annotated[list[str] | None, typer.Option(help="CodiEsp: es and/or en (default both)")] = None,
                 keep_negated: Annotated[bool, typer.Option(help="CodiEsp: code negated mentions too")] = False,
                 spans: Annotated[bool, typer.Option(help="CodiEsp: span recall of the built-in lexicon instead")] = False,
                 lexicon_split: Annotated[bool, typer.Option(help="CodiEsp: also a half-A span lexicon, on half B")] = False,
                 no_deid: Annotated[bool, typer.Option("--no-deid", help="synth: raw text (dates are scored)")] = False,
                 backend: Annotated[str, typer.Option(help="synth: rules or llm (the llm.* server)")] = "rules",
                 as_json: Annotated[bool, typer.Option("--json")] = False,
                 limit: Annotated[int | None, typer.Option(help="first N patients / documents only")] = None) -> None:
    """Extraction quality: per-field precision/recall on the synthetic clinic; the ICD-10 coder on CodiEsp (P/R/F1 on
    codes and categories, MAP), on a held-out folder (--train) or cross-validated (--folds)."""
    from casewise.errors import CasewiseError
    from eval import extract_eval

    if not synth and synth_dir is None and codiesp is None:
        raise CasewiseError("give --synth [--synth-dir DIR] and/or --codiesp DIR")
    argv: list[str] = []
    if synth or synth_dir is not None:
        argv += ["--synth"] + ([str(synth_dir)] if synth_dir else [])
    if codiesp is not None:
        argv += ["--codiesp", str(codiesp)] + (["--lexicon-split"] if lexicon_split else []) + (
            ["--spans"] if spans else []) + [a for d in train or [] for a in ("--train", str(d))] + (
            ["--folds", str(folds)] if folds else []) + [a for lang in language or [] for a in ("--language", lang)] + (
            ["--keep-negated"] if keep_negated else [])
    argv += ["--backend", backend] + (["--no-deid"] if no_deid else []) + (["--json"] if as_json else []) + (
        ["--limit", str(limit)] if limit else [])
    raise typer.Exit(extract_eval.main(argv) or 0)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("extract")(extract)
    eval_app.command("extract")(eval_extract)
