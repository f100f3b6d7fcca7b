"""`casewise learn --codes DIR...` (the ICD-10 coder) and `casewise learn --embedder DIR...` (the embedder adapted to
the clinic's coded notes), each learned into the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, err, out

BASES = {"e5": "bundled:multilingual-e5-small", "minilm": "bundled:all-minilm-l6-v2"}


def learn(codes: Annotated[list[Path] | None, typer.Option(
              "--codes", help="a CodiEsp-format folder of coded notes (text_files/, text_files_en/, *D.tsv, *P.tsv, "
              "*X.tsv) to learn the ICD-10 coder on; repeatable")] = None,
          embedder: Annotated[list[Path] | None, typer.Option(
              "--embedder", help="a CodiEsp-format folder of coded notes to adapt the embedder on (pairs of notes "
              "sharing ICD-10 categories, and Spanish/English translations); repeatable")] = None,
          language: Annotated[list[str] | None, typer.Option(help="es and/or en (default: both)")] = None,
          model_out: Annotated[Path | None, typer.Option("--out", help="coder model file (default: "
                                                         "DATA_DIR/coding/icd10-coder-v<N>.json.gz)")] = None,
          embedder_out: Annotated[Path | None, typer.Option(
              "--embedder-out", help="folder for the adapted embedder (default: DATA_DIR/embedding/adapted-<base>)")] = None,
          base: Annotated[str, typer.Option(help="embedder to adapt: e5 (multilingual-e5-small, the multilingual part of "
                                                 "the default) or minilm (English)")] = "e5",
          max_pairs: Annotated[int, typer.Option(help="training pairs (~16 per step, ~12 s a step on 2 cores)")] = 384,
          data_dir: DataDir = None) -> None:
    """Learn the ICD-10 coder (indexing then codes every note with it) and/or adapt the embedder to coded notes."""
    from casewise.errors import CasewiseError
    from casewise.settings import load_settings

    if not codes and not embedder:
        raise CasewiseError("casewise learn: give --codes DIR (the ICD-10 coder) and/or --embedder DIR (the embedder)")
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    progress = lambda msg: err.print(msg, markup=False, highlight=False)
    if codes:
        from indexing.coding.learn import LANGUAGES, learn_codes

        langs = tuple(dict.fromkeys(language or LANGUAGES))
        bad = [lang for lang in langs if lang not in LANGUAGES]
        if bad:
            raise CasewiseError(f"--language: unknown {bad}; valid: {', '.join(LANGUAGES)}")
        report = learn_codes(codes, model_out, data_dir=settings.data_dir, languages=langs, progress=progress)
        out.print(report.summary(), markup=False, highlight=False)
        out.print(f"learning took {report.seconds:.1f} s; re-index (`casewise index --rebuild ...`) to code the notes "
                  "already indexed", markup=False, highlight=False)
    if embedder:
        from indexing.adapt_embedder import adapt_from_folders

        if base not in BASES:
            raise CasewiseError(f"--base: unknown {base!r}; valid: {', '.join(BASES)}")
        folder = embedder_out or Path(settings.data_dir) / "embedding" / f"adapted-{base}"
        adapted = adapt_from_folders(embedder, folder, base=BASES[base], max_pairs=max_pairs, progress=progress)
        out.print(adapted.summary(), markup=False, highlight=False)
        out.print(f"serve it with embedding.model = {folder} (CASEWISE_EMBEDDING__MODEL), then re-index "
                  "(`casewise index --rebuild ...`)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(learn)
