"""Ingestion throughput against its floor, and the cost of a nightly re-index with 1 % of files changed.

    python -m bench.ingest [--patients 1000 5000] [--keep DIR]

For each synthetic clinic: end-to-end chunks/s of a full index, printed as a ratio to the raw embedding throughput
of the same model on the same chunk texts in the same run (embedding is the floor); peak memory (RSS); then the time
of a re-index after changing 1 % of the notes, as a share of the full index time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(patients: int, workdir: Path) -> dict[str, float]:
    from casewise.runtime import Runtime
    from casewise.settings import load_settings
    from eval.synth import generate_clinic
    from indexing.pipeline import Indexer

    clinic = workdir / f"clinic-{patients}"
    if not clinic.exists():
        generate_clinic(clinic, patients=patients, seed=7)
    data = workdir / f"data-{patients}"
    shutil.rmtree(data, ignore_errors=True)
    rt = Runtime(load_settings(data_dir=data))
    rt.embedder.embed_passages(["warm up"])
    indexer = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid)
    t0 = time.perf_counter()
    full = indexer.run([clinic])
    full_s = time.perf_counter() - t0
    texts = [p["text"] for _, p in rt.index.all_payloads()]
    t0 = time.perf_counter()
    for i in range(0, len(texts), 256):
        rt.embedder.embed_passages(texts[i:i + 256])
    embed_s = time.perf_counter() - t0
    notes = sorted((clinic / "notes").glob("*.txt"))
    changed = notes[:: max(1, len(notes) // max(1, len(notes) // 100))][: max(1, len(notes) // 100)]
    for p in changed:
        p.write_text(p.read_text(encoding="utf-8") + "\nRevisión: sin cambios.\n", encoding="utf-8")
    t0 = time.perf_counter()
    re = indexer.run([clinic])
    re_s = time.perf_counter() - t0
    rt.close()
    e2e = len(texts) / full_s
    floor = len(texts) / embed_s
    return {"patients": patients, "chunks": len(texts), "full_s": full_s, "e2e_chunks_s": e2e, "embed_chunks_s": floor,
            "ratio_to_embedding": e2e / floor, "peak_rss_mb": _peak_rss_mb(), "reindex_changed": re.changed,
            "reindex_s": re_s, "reindex_share": re_s / full_s, "quarantined": len(full.quarantined)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="casewise-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print("patients  chunks  full_s  e2e_chunks/s  embed_chunks/s  ratio  peak_MB  reindex(1%)_s  share")
    for n in args.patients:
        r = run(n, work)
        print(f"{n:8d}  {r['chunks']:6.0f}  {r['full_s']:6.1f}  {r['e2e_chunks_s']:12.1f}  {r['embed_chunks_s']:14.1f}  "
              f"{r['ratio_to_embedding']:5.2f}  {r['peak_rss_mb']:7.0f}  {r['reindex_s']:13.1f}  {r['reindex_share']:5.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
