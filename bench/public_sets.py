"""Ingest the real public sets end to end and report counts, time and failures (the figures issue 3 asks for).

    python -m bench.public_sets --data ../shared/data [--sets mtsamples,codiesp,synthea] [--limit N]

- MTSamples: one note per unique `sample_id` (the CSV lists a note under several specialties), written as .txt files
  the way a clinic's export would arrive;
- CodiEsp train: the 500 Spanish clinical case files as they are;
- Synthea: the CSV export folder as it is (read through the declared Synthea mapping).
Each set goes into its own fresh data dir with the default settings (Qdrant Edge, int8 ONNX MiniLM, rules + Presidio
de-identification). Not a test: it needs ../shared/data, which a user's machine may not have.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _mtsamples(src: Path, dst: Path, limit: int | None) -> int:
    csv.field_size_limit(sys.maxsize)
    seen: set[str] = set()
    with (src / "mtsamples.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sid = row["sample_id"].strip()
            text = row["transcription"].strip()
            if sid in seen or not text:
                continue
            seen.add(sid)
            (dst / f"mtsample_{sid}.txt").write_text(f"{row['sample_name'].strip()}\n\n{text}\n", encoding="utf-8")
            if limit and len(seen) >= limit:
                break
    return len(seen)


def _copy(src: Path, dst: Path, limit: int | None, pattern: str) -> int:
    files = sorted(src.glob(pattern))[:limit] if limit else sorted(src.glob(pattern))
    for f in files:
        shutil.copy(f, dst / f.name)
    return len(files)


def run_set(name: str, data: Path, limit: int | None) -> dict[str, object]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    work = Path(tempfile.mkdtemp(prefix=f"casewise-{name}-"))
    src = work / "records"
    src.mkdir()
    if name == "mtsamples":
        n = _mtsamples(data / "mtsamples", src, limit)
    elif name == "codiesp":
        n = _copy(data / "codiesp" / "train" / "text_files", src, limit, "*.txt")
    elif name == "synthea":
        n = _copy(data / "synthea", src, None, "*.csv")
    else:
        raise SystemExit(f"unknown set {name!r}; valid: mtsamples, codiesp, synthea")
    rt = Runtime(load_settings(data_dir=work / "data"))
    rt.embedder  # noqa: B018 - load the model outside the timed run
    try:
        t0 = time.perf_counter()
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([src])
        seconds = time.perf_counter() - t0
        reasons: dict[str, int] = {}
        for _, reason in report.quarantined:
            reasons[reason] = reasons.get(reason, 0) + 1
        return {"set": name, "files": n, "indexed": report.added, "quarantined": len(report.quarantined),
                "reasons": reasons, "chunks": report.chunks_written, "cases": report.cases,
                "seconds": round(seconds, 1), "files_per_s": round(n / seconds, 2),
                "chunks_per_s": round(report.chunks_written / seconds, 2)}
    finally:
        rt.close()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--sets", default="mtsamples,codiesp,synthea")
    ap.add_argument("--limit", type=int, default=None, help="first N notes of each set")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        ap.error(f"{args.data} is not a folder with the public sets")
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        print(json.dumps(run_set(name, args.data, args.limit)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
