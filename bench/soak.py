"""Soak test: mixed ingestion and questions against a real server for a long time; memory must stay flat.

    python -m bench.soak [--minutes 30] [--clients 2] [--patients 15] [--every 20]

A synthetic clinic is generated and indexed, `uvicorn api.app:factory` serves it on 127.0.0.1, and for --minutes:
- --clients threads ask questions back to back (POST /v1/ask, POST /v1/cases/similar, GET /v1/cases/{id});
- one thread changes the records folder every --every seconds (a new note, an edited note, a deleted note, in turn)
  and runs an incremental re-index through POST /v1/index/reindex, waiting for the job;
- the server's resident memory is sampled every 5 s.
It prints throughput, errors (must be 0), re-index jobs (all must finish), whether the audit chain verifies, and the
memory ratio: mean RSS over the last fifth of the run / mean RSS over the second fifth (after warm-up), in the same
run (flat is ~1.0). A plot of memory and throughput over time and a JSON summary go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.load import QUESTIONS, _case_ids, _free_port, prepare, run_load, start_server

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--patients", type=int, default=15)
    ap.add_argument("--every", type=float, default=20.0, help="seconds between ingestion rounds")
    args = ap.parse_args(argv)

    from app.keys import create_key, ensure_tables
    from casewise.settings import load_settings
    from casewise.store import Store

    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="casewise-soak-") as tmp:
        work = Path(tmp)
        data_dir = prepare(None, args.patients, work)
        records = work / "records"
        store = Store.from_settings(load_settings(data_dir=data_dir))
        ensure_tables(store)
        _, clinician = create_key(store, "soak-clinician", "clinician")
        _, admin = create_key(store, "soak-admin", "admin")
        case_ids = _case_ids(store)[:50]
        port = _free_port()
        proc = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        stop = threading.Event()
        samples: list[tuple[float, float, int]] = []  # (t, rss MB, requests so far)
        jobs = {"done": 0, "failed": 0}
        job_errors: list[str] = []
        done_requests = [0]
        t_start = time.monotonic()

        def sampler() -> None:
            while not stop.is_set():
                samples.append((time.monotonic() - t_start, _rss_mb(proc.pid), done_requests[0]))
                stop.wait(5.0)

        def ingester() -> None:
            notes = sorted((records / "notes").glob("*.txt"))
            added: list[Path] = []
            rng = random.Random(3)
            step = 0
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=600) as c:
                while not stop.wait(args.every):
                    kind = step % 3
                    if kind == 0:  # a new note
                        new = records / "notes" / f"soak_{step:05d}.txt"
                        shutil.copy(rng.choice(notes), new)
                        added.append(new)
                    elif kind == 1:  # an edited note
                        target = rng.choice(notes)
                        target.write_text(target.read_text(encoding="utf-8") + f"\nRevisión {step}: EVA 3/10.\n",
                                          encoding="utf-8")
                    elif added:  # a deleted note
                        added.pop(0).unlink()
                    step += 1
                    try:
                        job = c.post("/v1/index/reindex", json={"paths": [str(records)]}).json()
                        while job.get("state") in ("queued", "running"):
                            time.sleep(0.5)
                            job = c.get(f"/v1/index/jobs/{job['job_id']}").json()
                        key = "done" if job.get("state") == "done" else "failed"
                        jobs[key] += 1
                        if key == "failed":
                            job_errors.append(str(job.get("error")))
                    except httpx.HTTPError as exc:
                        jobs["failed"] += 1
                        job_errors.append(type(exc).__name__)

        def clinical(c: httpx.Client, rng: random.Random) -> tuple[bool, bool, str]:
            draw = rng.random()
            if draw < 0.4:
                kind, r = "ask", c.post("/v1/ask", json={"question": rng.choice(QUESTIONS)})
            elif draw < 0.7:
                kind, r = "similar", c.post("/v1/cases/similar", json={"description": rng.choice(QUESTIONS), "k": 5})
            else:
                kind, r = "case", c.get(f"/v1/cases/{rng.choice(case_ids)}")
            done_requests[0] += 1
            return r.status_code == 200, True, kind

        threads = [threading.Thread(target=sampler, daemon=True), threading.Thread(target=ingester, daemon=True)]
        for t in threads:
            t.start()
        try:
            result = run_load(args.clients, seconds, clinical, base, {"Authorization": f"Bearer {clinician}"})
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=900)
            proc.terminate()
            proc.wait(timeout=60)
        ok, entries, _ = store.verify_audit()

    n = len(samples)
    early = [r for _, r, _ in samples[n // 5: 2 * n // 5]] or [r for _, r, _ in samples]
    late = [r for _, r, _ in samples[4 * n // 5:]] or [r for _, r, _ in samples]
    ratio = (sum(late) / len(late)) / (sum(early) / len(early))
    summary = {"minutes": args.minutes, "clients": args.clients, "requests": len(result.latencies),
               "requests_per_s": round(len(result.latencies) / seconds, 2), "errors": result.errors,
               "error_samples": result.error_samples, "reindex_jobs_done": jobs["done"],
               "reindex_jobs_failed": jobs["failed"], "reindex_errors": job_errors[:5],
               "audit_intact": ok, "audit_entries": entries, "rss_mb_first": round(samples[0][1], 1),
               "rss_mb_last": round(samples[-1][1], 1), "rss_late_over_early": round(ratio, 3)}
    print(json.dumps(summary, indent=1))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"soak_{stamp}.json").write_text(json.dumps({**summary, "samples": samples}, indent=1))
    _plot(samples, RESULTS / f"soak_{stamp}.png")
    print(f"plot: {RESULTS / f'soak_{stamp}.png'}")
    return 0 if result.errors == 0 and jobs["failed"] == 0 and ok else 1


def _plot(samples: list[tuple[float, float, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s[0] / 60 for s in samples]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    a1.plot(t, [s[1] for s in samples], color="#1f5f8b")
    a1.set_ylabel("server RSS (MB)")
    a1.set_ylim(bottom=0)
    a1.set_title("Casewise soak: memory and throughput over time")
    rates = [0.0] + [(samples[i][2] - samples[i - 1][2]) / max(samples[i][0] - samples[i - 1][0], 1e-9)
                     for i in range(1, len(samples))]
    a2.plot(t, rates, color="#2e7d32")
    a2.set_ylabel("requests/s")
    a2.set_xlabel("minutes")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
