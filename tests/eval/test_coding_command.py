"""`casewise eval extract --codiesp DIR --train DIR | --folds K`: the ICD-10 coder measured as CodiEsp does, on notes
it did not learn from, from the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from indexing.coding.learn import learn_codes

FIXTURE = Path(__file__).parents[1] / "indexing" / "coding" / "fixtures" / "codiesp_mini"


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cli.main", "eval", "extract", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def _rows(out: str) -> dict[tuple[str, str], list[float]]:
    """(language, kind) -> full P, R, F1, category P, R, F1, MAP (then the count of notes)."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 10 and parts[0] in ("es", "en") and parts[1] in ("diagnosis", "procedure"):
            rows[(parts[0], parts[1])] = [float(x) for x in parts[2:9]]
    return rows


def test_folds_cross_validate_within_the_folder_and_print_codes_categories_and_map(tmp_path: Path) -> None:
    res = run(["--codiesp", str(FIXTURE), "--folds", "2"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "2-fold cross-validation" in res.stdout and "sha256(note id) mod 2" in res.stdout
    rows = _rows(res.stdout)
    assert set(rows) == {("es", "diagnosis"), ("es", "procedure"), ("en", "diagnosis"), ("en", "procedure")}
    full_f1, cat_f1, map_ = rows[("es", "diagnosis")][2], rows[("es", "diagnosis")][5], rows[("es", "diagnosis")][6]
    assert 0 < full_f1 <= cat_f1 <= 1 and 0 < map_ <= 1


def test_a_train_folder_is_learned_from_and_the_codiesp_folder_scored(tmp_path: Path) -> None:
    test = tmp_path / "test"
    shutil.copytree(FIXTURE, test)
    train = tmp_path / "train"
    shutil.copytree(FIXTURE, train)
    for folder, keep in ((test, {"note-06", "note-07", "note-08"}), (train, None)):
        for txt in folder.glob("text_files*/*.txt"):
            if (keep is None and txt.stem in {"note-06", "note-07", "note-08"}) or (keep and txt.stem not in keep):
                txt.unlink()
    res = run(["--codiesp", str(test), "--train", str(train), "--language", "es"], tmp_path / "data")
    assert res.returncode == 0, res.stderr
    assert "learned on train (5 notes), scored on test (3 notes)" in res.stdout
    assert set(_rows(res.stdout)) == {("es", "diagnosis"), ("es", "procedure")}


def test_without_train_or_folds_the_coder_in_use_is_scored_and_said_not_held_out(tmp_path: Path) -> None:
    learn_codes([FIXTURE], data_dir=tmp_path, languages=("es",))
    res = run(["--codiesp", str(FIXTURE), "--language", "es"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "the coder in use" in res.stdout and "NOT HELD OUT" in res.stdout
    assert _rows(res.stdout)[("es", "diagnosis")][2] > 0.5  # it learned these very notes


def test_train_and_folds_together_are_refused(tmp_path: Path) -> None:
    res = run(["--codiesp", str(FIXTURE), "--train", str(FIXTURE), "--folds", "2"], tmp_path)
    assert res.returncode == 2 and "not both" in res.stderr
