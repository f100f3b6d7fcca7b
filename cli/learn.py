"""`casewise learn --codes DIR...`: learn the ICD-10 coder from coded notes into the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, err, out


def learn(codes: Annotated[list[Path], typer.Option(
              "--codes", help="a CodiEsp-format folder of coded notes (text_files/, text_files_en/, *D.tsv, *P.tsv, "
              "*X.tsv); repeatable")],
          language: Annotated[list[str] | None, typer.Option(help="es and/or en (default: both)")] = None,
          model_out: Annotated[Path | None, typer.Option("--out", help="model file (default: "
                                                         "DATA_DIR/coding/icd10-coder-v<N>.json.gz)")] = None,
          data_dir: DataDir = None) -> None:
    """Learn the ICD-10 coder from coded notes; indexing then codes every note with it."""
    from casewise.errors import CasewiseError
    from casewise.settings import load_settings
    from indexing.coding.learn import LANGUAGES, learn_codes

    langs = tuple(dict.fromkeys(language or LANGUAGES))
    bad = [lang for lang in langs if lang not in LANGUAGES]
    if bad:
        raise CasewiseError(f"--language: unknown {bad}; valid: {', '.join(LANGUAGES)}")
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    report = learn_codes(codes, model_out, data_dir=settings.data_dir, languages=langs,
                         progress=lambda msg: err.print(msg, markup=False, highlight=False))
    out.print(report.summary(), markup=False, highlight=False)
    out.print(f"learning took {report.seconds:.1f} s; re-index (`casewise index --rebuild ...`) to code the notes "
              "already indexed", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(learn)
