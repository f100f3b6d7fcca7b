"""`casewise learn --codes DIR`: learns the ICD-10 coder into the data folder and says how long it took."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from indexing.coding.coder import load_coder
from indexing.coding.model import model_path

FIXTURE = Path(__file__).parents[1] / "indexing" / "coding" / "fixtures" / "codiesp_mini"


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_learn_writes_the_model_into_the_data_folder_and_prints_its_summary_and_time(tmp_path: Path) -> None:
    res = run(["learn", "--codes", str(FIXTURE)], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "learned the ICD-10 coder from 8 notes" in res.stdout and "learning took" in res.stdout
    assert str(model_path(tmp_path)) in res.stdout.replace("\n", "")
    coder = load_coder(tmp_path)
    assert coder is not None and coder.model.meta["notes"] == 8 and set(coder.model.languages) == {"es", "en"}
    assert "i10" in {c.code for c in coder.code("Hipertensión arterial.", language="es")}


def test_learn_refuses_a_folder_without_coded_notes_in_one_line(tmp_path: Path) -> None:
    res = run(["learn", "--codes", str(tmp_path)], tmp_path / "data")
    assert res.returncode == 2
    assert "error:" in res.stderr and "text_files" in res.stderr and "Traceback" not in res.stderr
    assert not model_path(tmp_path / "data").exists()
