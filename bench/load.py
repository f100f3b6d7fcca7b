"""Load benchmark of the HTTP API: N concurrent clients for M seconds against a uvicorn server on 127.0.0.1.

    python -m bench.load --clients 4 --seconds 20 [--data-dir DIR] [--patients 15]

Runs a baseline (GET /healthz) and a clinical mix (POST /v1/ask, POST /v1/cases/similar, GET /v1/cases/{id}) in the
same run against the same server, and prints requests/s, p50/p95 latency, errors (must be 0), the clinical/baseline
throughput ratio, and checks that the audit log gained exactly one entry per clinical request and still verifies.
Without --data-dir a small synthetic clinic is generated and indexed into a temporary folder first.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

QUESTIONS = [
    "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs. ¿Qué funcionó en pacientes similares?",
    "62-year-old man with knee osteoarthritis, VAS 7/10 despite NSAIDs. What worked?",
    "Epicondilitis lateral de 6 meses, ¿PRP o corticoide?",
    "Plantar fasciitis for a year, VAS 6. What helped similar patients?",
    "Tendinopatía rotuliana en deportista, EVA 5. ¿Qué tratamientos funcionaron?",
]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    clinical_ok: int = 0
    error_samples: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data_dir: Path | None, patients: int, work: Path) -> Path:
    """An indexed data folder: the one given, or a freshly generated and indexed synthetic clinic."""
    if data_dir is not None:
        return data_dir
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer
    from synth import generate_clinic

    generate_clinic(work / "records", patients=patients, seed=7)
    rt = Runtime(load_settings(data_dir=work / "data"))
    started = time.perf_counter()
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([work / "records"])
    print(f"indexed a {patients}-patient synthetic clinic in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rt.close()  # the server process must own the embedded index
    return work / "data"


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "CASEWISE_API__RATE_PER_MINUTE": "10000000",
           "CASEWISE_API__RATE_BURST": "100000", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:factory", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not become ready in 120 s")


Request = Callable[[httpx.Client, random.Random], tuple[bool, bool, str]]


def run_load(clients: int, seconds: float, make_request: Request,
             base_url: str, headers: dict[str, str]) -> Result:
    """`clients` threads, each with its own connection, issuing requests back to back for `seconds`."""
    result = Result()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as c:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    ok, clinical, kind = make_request(c, rng)
                    note = ""
                except httpx.HTTPError as exc:
                    ok, clinical, kind, note = False, False, "failed", type(exc).__name__
                dt = time.perf_counter() - t0
                with lock:
                    result.latencies.append(dt)
                    result.by_kind.setdefault(kind, []).append(dt)
                    if not ok:
                        result.errors += 1
                        if len(result.error_samples) < 5:
                            result.error_samples.append(note or "non-2xx")
                    elif clinical:
                        result.clinical_ok += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def report(name: str, r: Result, seconds: float) -> float:
    rps = len(r.latencies) / seconds
    print(f"{name:<10} requests {len(r.latencies):>6}  {rps:8.1f} req/s  p50 {_pct(r.latencies, 50) * 1000:8.1f} ms  "
          f"p95 {_pct(r.latencies, 95) * 1000:8.1f} ms  errors {r.errors}"
          + (f" ({', '.join(r.error_samples)})" if r.error_samples else ""))
    if len(r.by_kind) > 1:
        for kind, lat in sorted(r.by_kind.items()):
            print(f"  {kind:<8} n {len(lat):>6}  p50 {_pct(lat, 50) * 1000:8.1f} ms  p95 {_pct(lat, 95) * 1000:8.1f} ms")
    return rps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--data-dir", type=Path, default=None, help="an indexed data folder (default: generate one)")
    ap.add_argument("--patients", type=int, default=15, help="size of the generated clinic")
    args = ap.parse_args(argv)

    from app.keys import create_key
    from casewise.settings import load_settings
    from casewise.store import Store

    with tempfile.TemporaryDirectory(prefix="casewise-bench-") as tmp:
        data_dir = prepare(args.data_dir, args.patients, Path(tmp))
        store = Store.from_settings(load_settings(data_dir=data_dir))
        from app.keys import ensure_tables

        ensure_tables(store)
        info, key = create_key(store, f"bench-{int(time.time())}", "clinician")
        case_ids = [c for c in _case_ids(store)][:50]
        if not case_ids:
            raise SystemExit(f"no cases in {data_dir}: index a clinic first")
        port = _free_port()
        proc = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            def healthz(c: httpx.Client, _: random.Random) -> tuple[bool, bool, str]:
                return c.get("/healthz").status_code == 200, False, "healthz"

            def clinical(c: httpx.Client, rng: random.Random) -> tuple[bool, bool, str]:
                draw = rng.random()
                if draw < 0.4:
                    kind, r = "ask", c.post("/v1/ask", json={"question": rng.choice(QUESTIONS)})
                elif draw < 0.7:
                    kind, r = "similar", c.post("/v1/cases/similar",
                                                json={"description": rng.choice(QUESTIONS), "k": 5})
                else:
                    kind, r = "case", c.get(f"/v1/cases/{rng.choice(case_ids)}")
                return r.status_code == 200, True, kind

            # Warm up (model caches, connection setup), then measure.
            run_load(1, 1.0, clinical, base, headers)
            before = _audit_count(store, info.actor)
            base_r = run_load(args.clients, args.seconds, healthz, base, headers)
            clin_r = run_load(args.clients, args.seconds, clinical, base, headers)
            after = _audit_count(store, info.actor)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    print(f"clients {args.clients}, {args.seconds:g} s per phase, server: uvicorn (1 process) on 127.0.0.1")
    base_rps = report("healthz", base_r, args.seconds)
    clin_rps = report("clinical", clin_r, args.seconds)
    print(f"ratio clinical/healthz throughput: {clin_rps / base_rps:.4f} ({base_rps / max(clin_rps, 1e-9):.0f}x slower)")
    audited = after - before
    ok_audit = audited == clin_r.clinical_ok
    ok_chain = store.verify_audit()[0]
    print(f"audit: {audited} entries for {clin_r.clinical_ok} clinical responses "
          f"({'exactly one each' if ok_audit else 'MISMATCH'}); chain {'verifies' if ok_chain else 'BROKEN'}")
    failed = base_r.errors + clin_r.errors > 0 or not ok_audit or not ok_chain
    return 1 if failed else 0


def _case_ids(store: object) -> list[str]:
    from sqlalchemy import select

    from casewise.store import CaseRow

    with store.session() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(CaseRow.case_id).order_by(CaseRow.case_id)))


def _audit_count(store: object, actor: str) -> int:
    from sqlalchemy import func, select

    from casewise.store import AuditRow

    with store.session() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.actor == actor)) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
