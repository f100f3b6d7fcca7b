"""The nightly re-index inside `casewise serve`: one daemon thread that starts a re-index job at HH:MM every day.

The embedded index can be opened by one process only, so the server runs the job itself; cron or a systemd
timer calling `casewise index` is the alternative when Qdrant runs as a server.

With several API replicas sharing one store (PostgreSQL), every replica's timer fires, and each first claims the
night's run in the store (`Store.claim_run`: one row per job and date, its primary key makes the claim atomic).
Exactly one replica wins and starts the job; the others log which replica runs it. A replica that dies after its
claim leaves that night without a re-index; the next night runs as usual.

After the night's job, the leak scan of `eval.leaks` re-reads what that run wrote (the index points and table rows
that are new or changed since just before it, and the files it touched) with the de-identifier's own detectors and,
when the configured question set is a synthetic clinic's ground truth, looks for every identifier of it. The result
is logged and audited as counts per type, never a value.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from casewise.errors import CasewiseError
from eval.leaks import LEAK_SCAN_ACTION  # noqa: F401 - the nightly scan's audit action, as tests and callers name it

if TYPE_CHECKING:
    from api.schemas import Job
    from api.services.indexing import IndexService
    from api.services.locks import ReadWriteLock
    from app.runtime import Runtime
    from casewise.store import Store
    from eval.leaks import ScanReport, StoredState

log = logging.getLogger(__name__)
EVAL_POLL_S = 5.0
NIGHTLY_JOB = "nightly-reindex"
NIGHTLY_ACTOR = "nightly"


def replica_name() -> str:
    """This process as other replicas see it in the log: host (the pod's name on Kubernetes) and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def seconds_until(hhmm: str, now: dt.datetime) -> float:
    """Seconds from `now` to the next occurrence of local time HH:MM (a full day when it is HH:MM now)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += dt.timedelta(days=1)
    return (target - now).total_seconds()


class DailyJob:
    """Call `job` every day at `hhmm` until `stop()`."""

    def __init__(self, hhmm: str, job: Callable[[], object], clock: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.hhmm = hhmm
        self.job = job
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="casewise-nightly-reindex", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(seconds_until(self.hhmm, self.clock())):
            try:
                if self.job() is not None:
                    log.info("nightly re-index started")
            except Exception as exc:  # noqa: BLE001 - the server must keep serving
                log.error("nightly re-index could not start: %s", type(exc).__name__)


def once_per_day(store: Store, job_name: str, fn: Callable[[], object], *, owner: str | None = None,
                 clock: Callable[[], dt.datetime] = dt.datetime.now) -> Callable[[], object | None]:
    """`fn` wrapped so that, of all the replicas sharing `store`, exactly one runs it per (local) day.

    The wrapper returns `fn()`'s result where it ran and None where another replica had claimed the day.
    """
    me = owner or replica_name()

    def run() -> object | None:
        day = clock().date().isoformat()
        other = store.claim_run(job_name, day, me)
        if other is not None:
            log.info("%s of %s runs on replica %s, not here", job_name, day, other)
            return None
        return fn()

    return run


def nightly_reindex(indexing: IndexService, rt: Runtime, lock: ReadWriteLock, *,
                    clock: Callable[[], dt.datetime] = dt.datetime.now) -> object | None:
    """Start tonight's re-index unless another replica has; scan what it wrote once it is done and, with
    `eval.after_reindex` on, evaluate afterwards."""
    return once_per_day(rt.store, NIGHTLY_JOB, lambda: _start_reindex(indexing, rt, lock), clock=clock)()


def _start_reindex(indexing: IndexService, rt: Runtime, lock: ReadWriteLock) -> object:
    before = state_before(rt, lock)
    job = indexing.start_reindex(indexing.default_roots())
    threading.Thread(target=after_reindex, args=(indexing, rt, lock, job.job_id, before), daemon=True,
                     name="casewise-nightly-after").start()
    return job


def state_before(rt: Runtime, lock: ReadWriteLock) -> StoredState | None:
    """What is stored before tonight's run (digests only), so the scan afterwards reads what the run wrote; None
    (the scan then reads everything) when it cannot be read."""
    from eval.leaks import stored_state

    try:
        with lock.read():
            return stored_state(rt)
    except Exception as exc:  # noqa: BLE001 - the re-index must still run
        log.error("nightly leak scan will read everything: the state before the re-index could not be read (%s)",
                  type(exc).__name__)
        return None


def _wait_for(indexing: IndexService, job_id: str, poll_s: float) -> Job | None:
    while (job := indexing.job(job_id)) is not None and job.state in ("queued", "running"):
        time.sleep(poll_s)
    return job


def after_reindex(indexing: IndexService, rt: Runtime, lock: ReadWriteLock, job_id: str,
                  before: StoredState | None, poll_s: float = EVAL_POLL_S) -> None:
    """Once tonight's job is done: the leak scan of what it wrote, then the evaluation when `eval.after_reindex`."""
    try:
        job = _wait_for(indexing, job_id, poll_s)
        if job is None or job.state != "done":
            log.error("nightly leak scan skipped: the re-index job did not finish")
            return
        scan_written(rt, lock, before, job_id)
        if rt.settings.eval.after_reindex:
            evaluate_after(indexing, rt, lock, job_id, poll_s)
    except Exception as exc:  # noqa: BLE001 - the server must keep serving
        log.error("nightly work after the re-index failed: %s", type(exc).__name__)


def scan_written(rt: Runtime, lock: ReadWriteLock, before: StoredState | None, job_id: str) -> ScanReport | None:
    """The leak scan of what tonight's run wrote (`eval.leaks.scan_written`, which `casewise index` runs too):
    audited by the nightly actor, logged here; the index is read under the lock, the detectors run outside it."""
    from eval.leaks import scan_written as scan

    return scan(rt, before, actor=NIGHTLY_ACTOR, job_id=job_id, what="nightly leak scan", guard=lock.read,
                logger=log)


def evaluate_after(indexing: IndexService, rt: Runtime, lock: ReadWriteLock, job_id: str,
                   poll_s: float = EVAL_POLL_S) -> Path | None:
    """Wait for the re-index job, then write an evaluation report run; None when the job failed or eval did."""
    job = _wait_for(indexing, job_id, poll_s)
    if job is None or job.state != "done":
        log.error("nightly evaluation skipped: the re-index job did not finish")
        return None
    try:
        from eval.questions import load_questions
        from eval.report import reports_root, write_report
        from eval.run import run_eval

        qset = load_questions(rt.settings.eval.questions, rt.deid.pseudonym)
        report = run_eval(rt, qset, title="Nightly evaluation", guard=lock.read)
        folder = write_report(report, reports_root(rt.settings))
    except Exception as exc:  # noqa: BLE001 - the server must keep serving
        log.error("nightly evaluation failed: %s", exc if isinstance(exc, CasewiseError) else type(exc).__name__)
        return None
    log.info("nightly evaluation written: %s", folder.name)
    return folder
