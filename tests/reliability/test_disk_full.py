"""The disk fills up while indexing: a real OS limit (RLIMIT_FSIZE, set on the running indexer with prlimit once its
index exists; SIGXFSZ ignored, so writes fail with EFBIG as they would with ENOSPC), not a mock. The run stops with a
one-line error; after space is freed a re-run loses and duplicates nothing and the index matches the manifest.
(A size-limited tmpfs would be closer to a full disk, but mounting one needs root.)
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.server_process import LAUNCH, consistency_problems, env

LIMIT_BYTES = 64 * 1024  # below what the store and the index write in a 5-patient run


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited through exec: an over-limit write fails with EFBIG


@dataclass
class FullDisk:
    clinic: Path
    data: Path
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> FullDisk:
    """Index a 5-patient clinic; once its index exists, no file of the indexer may grow past 64 KB."""
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("disk-full")
    clinic, data = root / "clinic", root / "data"
    generate_clinic(clinic, patients=5, seed=13)
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "index", str(clinic)], env=env(data),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_ignore_sigxfsz)  # noqa: PLW1509 - only a signal disposition
    deadline = time.monotonic() + 300
    while not (data / "edge" / "aliases.json").exists():  # the index exists: the documents are being parsed
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert time.monotonic() < deadline, "the index was never created"
        time.sleep(0.05)
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))
    _, err = proc.communicate(timeout=600)
    return FullDisk(clinic, data, proc.returncode, err.decode(errors="replace"))


def _error_lines(stderr: str) -> list[str]:
    """What the user reads: the command's own lines (the test launcher adds library INFO logging)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("INFO ")]


def test_disk_full_while_indexing_fails_in_one_line_and_a_rerun_converges(full_disk: FullDisk) -> None:
    from indexing.sources import discover

    assert full_disk.returncode != 0, "the run succeeded although no file could grow past the limit"
    assert "Traceback" not in full_disk.stderr
    assert len(_error_lines(full_disk.stderr)) == 1, full_disk.stderr[-2000:]

    rerun = subprocess.run([sys.executable, "-c", LAUNCH, "index", str(full_disk.clinic)], env=env(full_disk.data),
                           capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    files = {str(p) for p in discover([full_disk.clinic], ["**/*"], ["**/.*", "**/~$*"])}
    assert consistency_problems(full_disk.data, files) == []


def test_disk_full_error_names_the_cause(full_disk: FullDisk) -> None:
    line = _error_lines(full_disk.stderr)[-1].lower()
    assert any(w in line for w in ("full", "too large", "space")), line
