"""Command line for the synthetic clinic generator; prints counts only, never patient data."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from synth.generate import DEFAULT_PATIENTS, DEFAULT_SEED, SAMPLE_DIR, NotAClinicFolderError, generate_clinic


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m synth``."""
    parser = argparse.ArgumentParser(
        prog="python -m synth",
        description="Generate the deterministic synthetic clinic (documents + ground_truth.json).",
    )
    parser.add_argument(
        "--patients", type=int, default=DEFAULT_PATIENTS, help="number of patients (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, help="output folder (created if missing)")
    parser.add_argument(
        "--sample",
        action="store_true",
        help=f"regenerate the shipped demo sample ({DEFAULT_PATIENTS} patients, seed {DEFAULT_SEED}) in {SAMPLE_DIR}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; return a process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sample:
        if args.out or args.patients != DEFAULT_PATIENTS or args.seed != DEFAULT_SEED:
            parser.error("--sample always uses the defaults; do not combine it with --out, --patients or --seed")
        out, patients, seed = SAMPLE_DIR, DEFAULT_PATIENTS, DEFAULT_SEED
    elif args.out is None:
        parser.error("give --out DIR (or --sample)")
    else:
        out, patients, seed = args.out, args.patients, args.seed
    if patients < 1:
        parser.error("--patients must be at least 1")
    started = time.perf_counter()
    try:
        truth = generate_clinic(out, patients=patients, seed=seed)
    except NotAClinicFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    documents = sum(len(p.documents) for p in truth.patients)
    rows = sum(len(p.table_rows) for p in truth.patients)
    print(
        f"{len(truth.patients)} patients, {documents} documents, {rows} table rows, "
        f"{len(truth.questions)} questions -> {out} ({time.perf_counter() - started:.1f} s)",
        file=sys.stdout,
    )
    return 0
