"""The nightly re-index inside `casewise serve`: one daemon thread that starts a re-index job at HH:MM every day.

The embedded index can be opened by one process only, so the server runs the job itself; cron or a systemd
timer calling `casewise index` is the alternative when Qdrant runs as a server.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


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
                self.job()
                log.info("nightly re-index started")
            except Exception as exc:  # noqa: BLE001 - the server must keep serving
                log.error("nightly re-index could not start: %s", type(exc).__name__)
