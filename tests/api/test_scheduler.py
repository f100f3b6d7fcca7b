"""The nightly re-index timer of `casewise serve`, alone and with several replicas sharing one store."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from api.scheduler import DailyJob, nightly_reindex, once_per_day, seconds_until
from casewise.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_next_run_is_today_or_tomorrow_at_the_configured_time() -> None:
    assert seconds_until("02:30", dt.datetime(2026, 11, 29, 1, 30)) == 3600
    assert seconds_until("02:30", dt.datetime(2026, 11, 29, 2, 30)) == 86400
    assert seconds_until("02:30", dt.datetime(2026, 11, 29, 23, 30)) == 3 * 3600


def test_the_job_runs_when_the_time_comes_and_stops_on_request() -> None:
    ran = threading.Event()
    # A clock one second before 03:00: the job must fire about a second later.
    start = dt.datetime.now()
    fake_now = dt.datetime(2026, 11, 29, 2, 59, 59)
    job = DailyJob("03:00", ran.set, clock=lambda: fake_now + (dt.datetime.now() - start))
    job.start()
    assert ran.wait(5), "the re-index job was started at the configured time"
    job.stop()


# -- several replicas: the night's job runs on exactly one ----------------------------------------------------------

REPLICA = r"""
import datetime as dt, logging, sys, threading, time
from api.scheduler import DailyJob, once_per_day
from casewise.store import Store

url, name = sys.argv[1], sys.argv[2]
store = Store(url)
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
print("READY", flush=True)
t0 = float(sys.stdin.readline())
done = threading.Event()


def clock():  # 03:00 local time arrives at the same real instant t0 in every replica
    return dt.datetime(2026, 11, 29, 3, 0, 0) + dt.timedelta(seconds=time.time() - t0)


def reindex():
    print("REINDEX STARTED", flush=True)
    return "job"


nightly = once_per_day(store, "nightly-reindex", reindex, owner=name, clock=clock)
timer = DailyJob("03:00", lambda: (nightly(), done.set())[0], clock=clock)
timer.start()
sys.exit(0 if done.wait(60) else 3)
"""


def test_two_replica_processes_on_postgresql_start_the_nightly_job_exactly_once(tmp_path: Path) -> None:
    from tests.kernel.test_store_postgres import fresh_database, running_postgres

    with running_postgres() as server:
        url = fresh_database(server, "replicas")
        Store(url)  # migrated once, as the first replica's start would
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [subprocess.Popen([sys.executable, "-c", REPLICA, url, name], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for name in ("replica-a", "replica-b")]
        for p in procs:  # both replicas are up before the night comes
            assert p.stdout is not None and p.stdout.readline().strip() == "READY"
        t0 = time.time() + 1.0
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{t0}\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=90)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        ran = [o.count("REINDEX STARTED") for o in outputs]
        assert sorted(ran) == [0, 1], outputs
        winner, loser = ("replica-a", "replica-b") if ran[0] else ("replica-b", "replica-a")
        assert f"nightly-reindex of 2026-11-29 runs on replica {winner}, not here" in outputs[ran.index(0)], outputs
        assert Store(url).claim_run("nightly-reindex", "2026-11-29", loser) == winner


def test_two_schedulers_sharing_a_sqlite_store_run_each_night_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    stores = [Store(url), Store(url)]
    runs: list[str] = []
    night = [dt.datetime(2026, 11, 29, 3, 0, 0)]
    jobs = [once_per_day(s, "nightly-reindex", lambda n=n: runs.append(n) or n, owner=n, clock=lambda: night[0])
            for s, n in zip(stores, ("a", "b"), strict=True)]
    assert [job() for job in jobs] == ["a", None] and runs == ["a"]
    night[0] += dt.timedelta(days=1)  # the next night is a new run: whoever fires first takes it
    assert [job() for job in reversed(jobs)] == ["b", None] and runs == ["a", "b"]


def test_nightly_reindex_is_not_started_where_another_replica_claimed_the_night_mock_index_service(
        tmp_path: Path) -> None:
    """`nightly_reindex` (the function `casewise serve` schedules) asks the store first; the index service is a stand-in."""
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    started: list[object] = []
    indexing = SimpleNamespace(default_roots=lambda: ["/clinic"], start_reindex=lambda roots: started.append(roots)
                               or SimpleNamespace(job_id="j1"))
    settings = SimpleNamespace(eval=SimpleNamespace(after_reindex=False))
    replicas = [SimpleNamespace(store=Store(url), settings=settings) for _ in range(2)]
    night = lambda: dt.datetime(2026, 11, 29, 3, 0, 0)
    first = nightly_reindex(indexing, replicas[0], lock=None, clock=night)  # type: ignore[arg-type]
    second = nightly_reindex(indexing, replicas[1], lock=None, clock=night)  # type: ignore[arg-type]
    assert first is not None and second is None and started == [["/clinic"]]
