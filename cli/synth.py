"""`casewise synth`: a synthetic clinic (notes, PDFs, DOCX, CSV/XLSX and its ground truth) for tests and benchmarks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cli.common import out


def synth(patients: Annotated[int, typer.Option(min=1, max=100000)] = 200,
          out_dir: Annotated[Path, typer.Option("--out")] = Path("synthetic-clinic"),
          seed: Annotated[int, typer.Option()] = 7) -> None:
    """Generate a synthetic clinic (notes, PDFs, DOCX, CSV/XLSX, ground truth) for tests and benchmarks."""
    from synth import generate_clinic

    started = time.perf_counter()
    generate_clinic(out_dir, patients=patients, seed=seed)
    out.print(f"wrote a synthetic clinic of {patients} patients to {out_dir} in {time.perf_counter() - started:.1f} s")


def register(app: typer.Typer) -> None:
    app.command()(synth)
