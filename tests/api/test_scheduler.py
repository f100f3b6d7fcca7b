"""The nightly re-index timer of `casewise serve`."""

from __future__ import annotations

import datetime as dt
import threading

from api.scheduler import DailyJob, seconds_until


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
