"""kill -9 at random moments during indexing, then run again: the result equals a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runtime import Runtime
from casewise.settings import load_settings


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


@pytest.fixture(scope="module")
def crash_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    out = tmp_path_factory.mktemp("crash-clinic")
    generate_clinic(out, patients=10, seed=3)
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


@pytest.mark.parametrize(("seed", "workers"), [(1, 0), (2, 0), (3, 0), (4, 2)])
def test_kill_9_during_indexing_then_rerun_equals_a_clean_run(crash_clinic: Path, clean, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              seed: int, workers: int) -> None:
    data = tmp_path / "data"
    delay = random.Random(seed).uniform(4.0, 16.0)  # model loading, parsing, embedding, writing: any moment
    proc = _index_cmd(crash_clinic, data, workers)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10
    while _orphans(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _orphans(data), "parsing workers end with a killed indexer"
    rerun = _index_cmd(crash_clinic, data)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode() if rerun.stderr else ""
    points, cases, manifest = _snapshot(data)
    c_points, c_cases, c_manifest = clean
    assert manifest == c_manifest
    assert set(points) == set(c_points), "no duplicate, missing or orphaned chunk"
    assert points == c_points
    assert cases == c_cases
