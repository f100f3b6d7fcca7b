"""Ingestion throughput against its floor, and the cost of a nightly re-index with 1 % of files changed.

    python -m bench.ingest [--patients 1000 5000] [--workers 0 -1] [--keep DIR] [--rebuild]

For each synthetic clinic: end-to-end chunks/s of a full index, printed as a ratio to the raw embedding throughput
of the same model on the same chunk texts in the same run (embedding is the floor); peak memory (RSS of the indexing
process, and of it and its parsing workers together); then the time of a re-index after changing 1 % of the notes, as a share
of the full index time. Each clinic is indexed once per `--workers` value (ingest.workers: 0 parses in the indexing
process, -1 is the automatic count, N is N worker processes), so the rows compare them in the same run.
Each configuration starts from an empty data folder (its vector cache included), so the full index embeds every text;
the re-index finds the unchanged chunks of the changed notes in the vector cache. `--rebuild` also times
`casewise index --rebuild` afterwards (every stage but embedding, which the cache answers), as a share of the full index.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Self


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _TreeMemory:
    """Peak RSS of this process plus its worker processes, sampled every 0.2 s while indexing."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            total = self._me.memory_info().rss
            for child in self._me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(patients: int, workdir: Path, workers: int = 0, rebuild: bool = False) -> dict[str, float]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer
    from synth import generate_clinic

    clinic = workdir / f"clinic-{patients}"
    if not clinic.exists():
        generate_clinic(clinic, patients=patients, seed=7)
    data = workdir / f"data-{patients}"
    shutil.rmtree(data, ignore_errors=True)
    rt = Runtime(load_settings(data_dir=data, ingest={"workers": max(workers, 0)}))
    rt.embedder.embed_passages(["warm up"])
    indexer = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid)
    t0 = time.perf_counter()
    with _TreeMemory() as tree:
        full = indexer.run([clinic])
    full_s = time.perf_counter() - t0
    texts = [p["text"] for _, p in rt.index.all_payloads()]
    t0 = time.perf_counter()
    for i in range(0, len(texts), 256):
        rt.embedder.embed_passages(texts[i:i + 256])
    embed_s = time.perf_counter() - t0
    if workers < 0:  # automatic: what ingest.workers=0 chooses for this many documents
        from indexing.parallel import worker_count

        workers = worker_count(0, len(rt.store.documents()))
    notes = sorted((clinic / "notes").glob("*.txt"))
    changed = notes[:: max(1, len(notes) // max(1, len(notes) // 100))][: max(1, len(notes) // 100)]
    originals = {p: p.read_text(encoding="utf-8") for p in changed}
    for p, text in originals.items():
        p.write_text(text + "\nRevisión: sin cambios.\n", encoding="utf-8")
    t0 = time.perf_counter()
    re = indexer.run([clinic])
    re_s = time.perf_counter() - t0
    rebuild_s = float("nan")
    if rebuild:
        t0 = time.perf_counter()
        indexer.rebuild([clinic])
        rebuild_s = time.perf_counter() - t0
    rt.close()
    for p, text in originals.items():  # the next configuration indexes the same clinic
        p.write_text(text, encoding="utf-8")
    e2e = len(texts) / full_s
    floor = len(texts) / embed_s
    return {"patients": patients, "workers": workers, "tree_peak_mb": tree.peak_mb,
            "chunks": len(texts), "full_s": full_s, "e2e_chunks_s": e2e, "embed_chunks_s": floor,
            "ratio_to_embedding": e2e / floor, "peak_rss_mb": _peak_rss_mb(), "reindex_changed": re.changed,
            "reindex_s": re_s, "reindex_share": re_s / full_s, "rebuild_s": rebuild_s, "rebuild_share": rebuild_s / full_s,
            "quarantined": len(full.quarantined)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--workers", type=int, nargs="+", default=[0, -1],
                    help="ingest.workers values to compare (0: none, -1: automatic)")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--rebuild", action="store_true", help="also time a rebuild with the vector cache warm")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="casewise-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print("patients  workers  chunks  full_s  e2e_chunks/s  embed_chunks/s  ratio  peak_MB  with_workers_MB  reindex(1%)_s  share"
          "  rebuild_s  share")
    for n in args.patients:
        for w in args.workers:
            r = run(n, work, w, rebuild=args.rebuild)
            print(f"{n:8d}  {r['workers']:7.0f}  {r['chunks']:6.0f}  {r['full_s']:6.1f}  {r['e2e_chunks_s']:12.1f}  "
                  f"{r['embed_chunks_s']:14.1f}  {r['ratio_to_embedding']:5.2f}  {r['peak_rss_mb']:7.0f}  "
                  f"{r['tree_peak_mb']:15.0f}  {r['reindex_s']:13.1f}  {r['reindex_share']:5.3f}  {r['rebuild_s']:9.1f}  "
                  f"{r['rebuild_share']:5.3f}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
