"""kill -9 while the indexer is writing documents, then run again: the result equals a clean run.

The kill is aimed, not timed: the test watches the manifest (the `documents` table, through a read-only SQLite
connection of its own, which a WAL-mode writer does not wait for) until the indexer has written the number of rows the
case asks for, kills it then, and checks that the kill left a partial state (some documents written, not all) before
it compares the re-run with a clean run. A kill that lands before the first write or after the last one fails the test.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import GROUP

PATIENTS = 20  # ~54 documents: two write groups of indexing.pipeline.GROUP, so there is a moment between them
EVIDENCE_TIMEOUT_S = 300.0  # start-up and the first group, on a loaded 2-core machine
POLL_S = 0.02


def _snapshot(data: Path) -> tuple[dict[str, dict], dict[str, dict], list[tuple[str, str, str]]]:
    rt = Runtime(load_settings(data_dir=data))
    try:
        points = {pid: p for pid, p in rt.index.all_payloads()}
        cases = {c.case_id: c.model_dump(mode="json") for c in rt.store.get_cases(
            [cid for cid in rt.store.case_fingerprints()]).values()}
        manifest = sorted((r.source_path, r.content_hash, r.status) for r in rt.store.documents())
    finally:
        rt.close()
    return points, cases, manifest


def _index_cmd(folder: Path, data: Path, workers: int = 0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data), "CASEWISE_INGEST__WORKERS": str(workers)}
    return subprocess.Popen([sys.executable, "-m", "cli.main", "index", str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _indexed_rows_while_running(data: Path) -> int:
    """Manifest rows with status `indexed`, read beside a running indexer without making it wait.

    Read only once the database is in WAL mode (byte 18 of its header is 2), where a reader takes no lock a writer
    waits for; before that (the store is still being created) the answer is 0.
    """
    db = data / "casewise.db"
    try:
        with db.open("rb") as fh:
            if fh.read(20)[18:19] != b"\x02":
                return 0
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
    except (OSError, sqlite3.Error):
        return 0
    try:
        return int(con.execute("SELECT count(*) FROM documents WHERE status = 'indexed'").fetchone()[0])
    except sqlite3.Error:  # the table is not there yet
        return 0
    finally:
        con.close()


def _indexed_rows(data: Path) -> int:
    """The same count once the indexer is dead: any error here is a real one."""
    con = sqlite3.connect(data / "casewise.db")
    try:
        return int(con.execute("SELECT count(*) FROM documents WHERE status = 'indexed'").fetchone()[0])
    finally:
        con.close()


def _kill_once_written(proc: subprocess.Popen[bytes], data: Path, at_least: int) -> int:
    """Wait (bounded) until `at_least` documents are in the manifest, then kill -9; the count seen before the kill."""
    deadline = time.monotonic() + EVIDENCE_TIMEOUT_S
    seen = 0
    while seen < at_least:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            pytest.fail(f"the indexer ended (exit {proc.returncode}) before the kill, with {seen} of the {at_least} "
                        f"documents the kill waits for seen written: the kill did not land mid-write\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no sign of {at_least} documents written within {EVIDENCE_TIMEOUT_S:.0f} s ({seen} seen)")
        time.sleep(POLL_S)
        seen = _indexed_rows_while_running(data)
    proc.send_signal(signal.SIGKILL)
    return seen


@pytest.fixture(scope="module")
def crash_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    out = tmp_path_factory.mktemp("crash-clinic")
    generate_clinic(out, patients=PATIENTS, seed=3)
    return out


@pytest.fixture(scope="module")
def clean(crash_clinic: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("clean")
    proc = _index_cmd(crash_clinic, data)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode() if proc.stderr else ""
    return _snapshot(data)


def _orphans(data: Path) -> list[int]:
    """Worker processes of a killed indexer that are still running (found by the data folder in their environment)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "spawn_main" in " ".join(proc.info["cmdline"] or []) and \
                    proc.environ().get("CASEWISE_DATA_DIR") == str(data):
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


# Where the kill lands: at the first manifest row seen (inside the first group's writes, or just after them), or once
# the first group is complete (while the second is parsed and embedded, or inside its writes); with parsing workers,
# while they work ahead.
@pytest.mark.parametrize(("kill_at", "workers"), [(1, 0), (GROUP, 0), (1, 2)],
                         ids=["first-row", "first-group", "first-row-workers"])
def test_kill_9_during_indexing_then_rerun_equals_a_clean_run(crash_clinic: Path, clean, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              kill_at: int, workers: int) -> None:
    c_points, c_cases, c_manifest = clean
    total = sum(1 for _path, _hash, status in c_manifest if status == "indexed")
    assert total > GROUP, f"the clinic must span more than one write group ({total} documents, groups of {GROUP})"
    data = tmp_path / "data"
    proc = _index_cmd(crash_clinic, data, workers)
    _kill_once_written(proc, data, kill_at)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the indexer had already ended when the kill was sent"
    written = _indexed_rows(data)
    assert 0 < written < total, f"the kill left {written} of {total} documents written: it did not land mid-write"
    deadline = time.monotonic() + 10
    while _orphans(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _orphans(data), "parsing workers end with a killed indexer"
    rerun = _index_cmd(crash_clinic, data)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode() if rerun.stderr else ""
    points, cases, manifest = _snapshot(data)
    assert manifest == c_manifest
    assert set(points) == set(c_points), "no duplicate, missing or orphaned chunk"
    assert points == c_points
    assert cases == c_cases
