"""The coder measured as CodiEsp measures it, on notes it did not learn from: P/R/F1 on codes and categories, MAP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.coding_eval import average_precision, evaluate, fold_of, main

FIXTURE = Path(__file__).parents[1] / "indexing" / "coding" / "fixtures" / "codiesp_mini"


def test_map_is_codiesps_average_precision_over_the_gold_codes() -> None:
    # gold a, b, c; ranked a (P@1 = 1), x, b (P@3 = 2/3); c never ranked
    assert average_precision(["a", "x", "b"], {"a", "b", "c"}) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision([], {"a"}) == 0.0


def test_folds_depend_on_the_note_id_only() -> None:
    ids = [f"S{i:04d}" for i in range(200)]
    folds = [fold_of(i, 5) for i in ids]
    assert folds == [fold_of(i, 5) for i in ids]  # stable across runs and machines
    assert set(folds) == set(range(5)) and min(folds.count(f) for f in range(5)) >= 25


def test_cross_validation_scores_every_note_once_with_codes_categories_and_map() -> None:
    report = evaluate(FIXTURE, folds=2, languages=("es",))
    assert len(report.learn_seconds) == 2 and "sha256(note id) mod 2" in report.how
    diag = report.scores["es"]["diagnosis"]
    assert diag.full.gold == 18  # every gold diagnosis of the 8 notes, each scored once
    assert 0 < diag.full.precision <= 1 and 0 < diag.full.recall <= 1
    assert diag.category.f1 >= diag.full.f1 and 0 < diag.map <= 1
    assert report.scores["es"]["procedure"].full.gold == 4


def test_a_held_out_folder_is_scored_by_a_coder_learned_elsewhere(tmp_path: Path) -> None:
    train, test = tmp_path / "train", tmp_path / "test"
    for folder, ids in ((train, ["note-01", "note-02", "note-03", "note-04", "note-05"]),
                        (test, ["note-06", "note-07", "note-08"])):
        for sub in ("text_files", "text_files_en"):
            (folder / sub).mkdir(parents=True)
            for i in ids:
                shutil.copy(FIXTURE / sub / f"{i}.txt", folder / sub / f"{i}.txt")
        for table in ("miniD.tsv", "miniP.tsv", "miniX.tsv"):
            rows = [r for r in (FIXTURE / table).read_text(encoding="utf-8").splitlines() if r.split("\t")[0] in ids]
            (folder / table).write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = evaluate(test, train_dirs=[train], languages=("es",))
    diag = report.scores["es"]["diagnosis"]
    assert report.notes == 3 and diag.full.gold == 7
    # i10, j18.9, e11.9, m17.11, r50.9, r10.9 were all taught by the learning folder: most are found
    assert diag.full.recall >= 0.7
    with pytest.raises(ValueError, match="shares notes"):
        evaluate(test, train_dirs=[FIXTURE], languages=("es",))


def test_the_command_prints_a_table_per_language_and_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--codiesp", str(FIXTURE), "--folds", "2", "--language", "es"]) == 0
    out = capsys.readouterr().out
    assert "2-fold cross-validation" in out and "MAP" in out
    assert any(line.startswith("es   diagnosis") for line in out.splitlines())
    assert any(line.startswith("es   procedure") for line in out.splitlines())
