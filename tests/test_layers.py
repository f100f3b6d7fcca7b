"""The layers of DESIGN.md hold: import-linter's contracts (pyproject.toml) pass, and a wrong arrow fails them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_import_contracts_are_kept() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    for contract in ("Front ends above app", "imports nothing of ours", "No import cycles"):
        assert contract in r.stdout and "BROKEN" not in r.stdout


def test_a_kernel_module_that_imports_a_stage_breaks_the_build(tmp_path: Path) -> None:
    """The check is real: the same tree with one upward import (the kernel reaching into indexing) fails."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv", "test-artifacts", ".casewise*",
                                                              "__pycache__", "sample", "*.gguf"))
    (tree / "casewise" / "upward.py").write_text("from indexing.reader import DocumentReader\n", encoding="utf-8")
    r = subprocess.run([LINT, "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300, check=False,
                       env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0 and "BROKEN" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    assert "casewise.upward -> indexing.reader" in r.stdout
