"""Load benchmark of the HTTP API: N concurrent clients for M seconds against a real `casewise serve` on 127.0.0.1.

    python -m bench.load --demo --clients 16 --seconds 60     # the sample clinic of `casewise demo` (.casewise-demo)
    python -m bench.load --clients 4 --seconds 20 [--data-dir DIR] [--patients 15]

Starts `casewise serve` (one process, as in production) on a free port over the data folder, then runs a baseline
(GET /healthz) and a clinical mix of Spanish and English clinician questions in the same run against the same server:
POST /v1/ask, POST /v1/chat/completions (the OpenAI-compatible endpoint), POST /v1/cases/similar and
GET /v1/cases/{id}. Prints requests/s, p50/p95 latency and errors (must be 0) overall and per endpoint, the
clinical/baseline throughput ratio, and checks that the audit log gained exactly one entry per clinical response, of
the matching action, and that its hash chain still verifies. Exits 1 when any of these fails.

--demo uses the demo's data folder (built with `casewise demo --data-dir DIR` first when it holds no cases, about 7 min
on 2 cores); --data-dir names any indexed folder; with neither, a small synthetic clinic is generated and indexed
into a temporary folder. The benchmark's API key is revoked at the end; its audit entries stay (the chain is
append-only).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# What clinicians ask of the sample clinic's conditions, in both languages: what worked, comparisons, adverse events,
# regimens, outcomes over time.
QUESTIONS = [
    "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs. ¿Qué funcionó en pacientes similares?",
    "62-year-old man with knee osteoarthritis, VAS 7/10 despite NSAIDs. What worked?",
    "Epicondilitis lateral de 6 meses, ¿PRP o corticoide?",
    "Plantar fasciitis for a year, VAS 6. What helped similar patients?",
    "Tendinopatía rotuliana en deportista, EVA 5. ¿Qué tratamientos funcionaron?",
    "Coxartrosis en varón de 70 años, ¿ácido hialurónico o PRP a los 6 meses?",
    "Rotator cuff tendinopathy in a 50-year-old woman: physiotherapy or PRP, VAS at 3 months?",
    "¿Qué efectos adversos hubo tras la infiltración de PRP en rodilla?",
    "Achilles tendinopathy, shock wave therapy: how many sessions and what change in VAS at 12 months?",
    "Fascitis plantar con dolor en el talón, ¿funcionaron las ondas de choque?",
    "Knee osteoarthritis grade 4 in a 75-year-old: what happened after corticosteroid injections?",
    "Gonartrosis KL3 en mujer de 65 años tras ácido hialurónico: ¿evolución de la EVA a los 12 meses?",
]
# The audit action each clinical endpoint writes (app.clinical); a refused question is audited as ask_refused.
AUDIT_ACTION = {"ask": "ask", "chat": "ask", "similar": "similar", "case": "case"}
DEMO_DIR = Path(".casewise-demo")  # `casewise demo`'s default folder


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the phase, the requests still in flight at its end included
    errors: int = 0
    clinical_ok: int = 0
    clinical_by_kind: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def casewise_command() -> list[str]:
    """The `casewise` console script of this environment (the same entry point as `python -m cli.main`)."""
    script = Path(sys.executable).with_name("casewise")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def build_demo(data_dir: Path) -> None:
    """Index the bundled sample clinic into `data_dir` with `casewise demo` (which also answers its two questions)."""
    print(f"no index in {data_dir}: running `casewise demo --data-dir {data_dir}` first", file=sys.stderr)
    started = time.perf_counter()
    done = subprocess.run([*casewise_command(), "demo", "--data-dir", str(data_dir)], check=False,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"casewise demo failed: {done.stderr.decode(errors='replace')[-2000:]}")
    print(f"indexed the sample clinic in {time.perf_counter() - started:.0f} s", file=sys.stderr)


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


def start_server(data_dir: Path, port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """`casewise serve` on 127.0.0.1:`port` over `data_dir`, returned once GET /readyz answers 200.

    The rate limit is lifted (many clients from one address would hit it; it is not what is measured). The server's
    log, access lines included, goes to `log_path` (default: a new casewise-serve-*.log in the temporary folder): a
    pipe nobody reads would fill and stall the server.
    """
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="casewise-serve-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "CASEWISE_API__RATE_PER_MINUTE": "10000000",
           "CASEWISE_API__RATE_BURST": "100000", "HF_HUB_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*casewise_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--data-dir", str(data_dir)], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"casewise serve exited ({proc.returncode}); its log {log_path} ends: {_tail(log_path)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise SystemExit(f"casewise serve did not become ready in 180 s; its log {log_path} ends: {_tail(log_path)}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def casewise_serve(data_dir: Path, port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`start_server`, stopped on exit."""
    proc = start_server(data_dir, port, log_path)
    try:
        yield proc
    finally:
        stop_server(proc)


def _tail(path: Path, n: int = 2000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-n:]


# A request returns (HTTP status, clinical?, kind): 200 is success; a bool status is success itself (bench.soak's).
Request = Callable[[httpx.Client, random.Random], tuple[int | bool, bool, str]]


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
                    status, clinical, kind = make_request(c, rng)
                    ok = status if isinstance(status, bool) else status == 200
                    note = f"{kind} HTTP {status}" if not isinstance(status, bool) else f"{kind} failed"
                except httpx.HTTPError as exc:
                    ok, clinical, kind, note = False, False, "failed", type(exc).__name__
                dt = time.perf_counter() - t0
                with lock:
                    result.latencies.append(dt)
                    result.by_kind.setdefault(kind, []).append(dt)
                    if not ok:
                        result.errors += 1
                        if len(result.error_samples) < 5:
                            result.error_samples.append(note)
                    elif clinical:
                        result.clinical_ok += 1
                        result.clinical_by_kind[kind] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def report(name: str, r: Result) -> float:
    seconds = r.seconds
    rps = len(r.latencies) / seconds
    print(f"{name:<10} requests {len(r.latencies):>6}  {rps:8.1f} req/s  p50 {_pct(r.latencies, 50) * 1000:8.1f} ms  "
          f"p95 {_pct(r.latencies, 95) * 1000:8.1f} ms  errors {r.errors}"
          + (f" ({', '.join(r.error_samples)})" if r.error_samples else ""))
    if len(r.by_kind) > 1:
        for kind, lat in sorted(r.by_kind.items()):
            print(f"  {kind:<8} requests {len(lat):>6}  {len(lat) / seconds:8.1f} req/s  "
                  f"p50 {_pct(lat, 50) * 1000:8.1f} ms  p95 {_pct(lat, 95) * 1000:8.1f} ms")
    return rps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase (baseline, clinical)")
    ap.add_argument("--demo", action="store_true",
                    help=f"the sample clinic of `casewise demo` in --data-dir (default {DEMO_DIR}), built if missing")
    ap.add_argument("--data-dir", type=Path, default=None, help="an indexed data folder (default: generate one)")
    ap.add_argument("--patients", type=int, default=15, help="size of the generated clinic")
    args = ap.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        ap.error("--clients and --seconds must be positive")

    from app.keys import create_key, ensure_tables, revoke_key
    from casewise.settings import load_settings
    from casewise.store import Store

    if args.demo:
        args.data_dir = (args.data_dir or DEMO_DIR).resolve()
        if not _has_cases(args.data_dir):
            build_demo(args.data_dir)

    with tempfile.TemporaryDirectory(prefix="casewise-bench-") as tmp:
        data_dir = prepare(args.data_dir, args.patients, Path(tmp))
        store = Store.from_settings(load_settings(data_dir=data_dir))
        ensure_tables(store)
        all_cases = _case_ids(store)
        case_ids = all_cases[:50]
        if not case_ids:
            raise SystemExit(f"no cases in {data_dir}: index a clinic first (casewise demo, or casewise index FOLDER)")
        info, key = create_key(store, f"bench-{int(time.time())}", "clinician")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}

        def healthz(c: httpx.Client, _: random.Random) -> tuple[int, bool, str]:
            return c.get("/healthz").status_code, False, "healthz"

        def ask(c: httpx.Client, rng: random.Random) -> tuple[int, bool, str]:
            return c.post("/v1/ask", json={"question": rng.choice(QUESTIONS)}).status_code, True, "ask"

        def chat(c: httpx.Client, rng: random.Random) -> tuple[int, bool, str]:
            body = {"model": "casewise", "messages": [{"role": "user", "content": rng.choice(QUESTIONS)}]}
            return c.post("/v1/chat/completions", json=body).status_code, True, "chat"

        def similar(c: httpx.Client, rng: random.Random) -> tuple[int, bool, str]:
            body = {"description": rng.choice(QUESTIONS), "k": 5}
            return c.post("/v1/cases/similar", json=body).status_code, True, "similar"

        def case(c: httpx.Client, rng: random.Random) -> tuple[int, bool, str]:
            return c.get(f"/v1/cases/{rng.choice(case_ids)}").status_code, True, "case"

        def clinical(c: httpx.Client, rng: random.Random) -> tuple[int, bool, str]:
            draw = rng.random()
            pick = ask if draw < 0.3 else chat if draw < 0.5 else similar if draw < 0.75 else case
            return pick(c, rng)

        try:
            with casewise_serve(data_dir, port, Path(tmp) / "serve.log"):
                # Warm up each endpoint once (lazy model loads, first-call allocations), then measure.
                with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
                    for warm in (ask, chat, similar, case):
                        status, _, kind = warm(c, random.Random(0))
                        if status != 200:
                            raise SystemExit(f"warm-up: {kind} answered HTTP {status}")
                before = _last_audit_seq(store)
                base_r = run_load(args.clients, args.seconds, healthz, base, headers)
                clin_r = run_load(args.clients, args.seconds, clinical, base, headers)
                audited = _audit_actions(store, info.actor, after=before)
        finally:
            revoke_key(store, info.key_id)

    print(f"clients {args.clients}, {args.seconds:g} s per phase (then the requests in flight finish; req/s counts "
          f"them over the whole phase), server: casewise serve (1 process) on 127.0.0.1, "
          f"data {data_dir} ({len(all_cases)} cases)")
    base_rps = report("healthz", base_r)
    clin_rps = report("clinical", clin_r)
    print(f"ratio clinical/healthz throughput: {clin_rps / base_rps:.4f} ({base_rps / max(clin_rps, 1e-9):.0f}x slower)")
    expected: Counter[str] = Counter()
    for kind, n in clin_r.clinical_by_kind.items():
        expected[AUDIT_ACTION[kind]] += n
    got = Counter({("ask" if action == "ask_refused" else action): n for action, n in audited.items()})
    ok_audit = got == expected
    ok_chain = store.verify_audit()[0]
    per_action = ", ".join(f"{a} {got[a]}/{expected[a]}" for a in sorted(set(got) | set(expected)))
    print(f"audit: {sum(got.values())} entries for {clin_r.clinical_ok} clinical responses "
          f"({'exactly one each' if ok_audit else 'MISMATCH'}; {per_action}); chain {'verifies' if ok_chain else 'BROKEN'}")
    failed = base_r.errors + clin_r.errors > 0 or not ok_audit or not ok_chain
    return 1 if failed else 0


def _has_cases(data_dir: Path) -> bool:
    if not data_dir.is_dir():
        return False
    from casewise.settings import load_settings
    from casewise.store import Store

    return bool(_case_ids(Store.from_settings(load_settings(data_dir=data_dir))))


def _case_ids(store: object) -> list[str]:
    from sqlalchemy import select

    from casewise.store import CaseRow

    with store.session() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(CaseRow.case_id).order_by(CaseRow.case_id)))


def _last_audit_seq(store: object) -> int:
    from sqlalchemy import func, select

    from casewise.store import AuditRow

    with store.session() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.max(AuditRow.seq))) or 0)


def _audit_actions(store: object, actor: str, *, after: int) -> Counter[str]:
    """How many audit entries of each action `actor` has after entry `after`."""
    from sqlalchemy import select

    from casewise.store import AuditRow

    with store.session() as s:  # type: ignore[attr-defined]
        return Counter(s.scalars(select(AuditRow.action).where(AuditRow.actor == actor, AuditRow.seq > after)))


if __name__ == "__main__":
    raise SystemExit(main())
