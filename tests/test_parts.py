"""A test that needs a real part (Chromium, llama.cpp's server, PostgreSQL, tesseract) skips here without it, says what
to install, and fails under CI=true (`.ci/run` sets it): a green CI run cannot hide a missing install step.

The claim is checked by running pytest itself on a small test file that needs a part which is not installed, with and
without CI=true, and by a scan that no test skips around tests/parts.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NEEDS_A_MISSING_PART = '''
from tests.parts import require_part

def test_needs_the_part():
    require_part("Frobnicator", "no `frobnicate` program on PATH", "apt-get install -y frobnicator")
    raise AssertionError("reached the body without the part")
'''


def _pytest(test_file: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider",
                           "--import-mode=importlib", "--rootdir", str(ROOT), "-c", "/dev/null", str(test_file)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def needs_part(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    test_file = folder / "test_needs_part.py"
    test_file.write_text(NEEDS_A_MISSING_PART)
    return test_file


def test_a_missing_part_skips_locally_and_names_what_to_install(needs_part: Path) -> None:
    done = _pytest(needs_part, ci=None)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout
    assert "Frobnicator is missing" in done.stdout and "apt-get install -y frobnicator" in done.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_part_fails_under_ci(needs_part: Path, ci: str) -> None:
    done = _pytest(needs_part, ci=ci)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 failed" in done.stdout and "skipped" not in done.stdout
    assert "CI=true and a part this test needs is not installed" in done.stdout
    assert "reached the body" not in done.stdout  # it stopped at the missing part, not later


def test_ci_run_sets_ci_so_missing_parts_fail() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^export CI=", script, re.MULTILINE), ".ci/run must set CI so that require_part fails there"
    assert script.strip().splitlines()[-1].strip() == "make test", "the last line of .ci/run is the README's test command"


# Skips that are not about a missing part: the advisory service is a network service, not something an install
# step provides.
NOT_A_PART = {"tests/security/test_dependency_audit.py"}
SKIP = re.compile(r"pytest\.skip\(|pytest\.importorskip\(|mark\.skipif\(|mark\.skip\(")


def test_no_test_skips_around_require_part() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_A_PART or rel in ("tests/parts.py", "tests/test_parts.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if SKIP.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "skip through tests/parts.require_part (fails under CI=true):\n" + "\n".join(offenders)
