"""Each ground-truth outcome says where it is written (`recorded_in`): the value is in every file it names, and an
outcome written nowhere is in no document, so evaluation can count only what the records state."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest

import synth.generate
from synth import GroundTruth, generate_clinic
from synth.cohort import PatientPlan, draw_patient
from synth.model import SCHEMA_VERSION, Outcome
from synth.tables import CSV_HEADERS, CSV_PATH, XLSX_HEADERS, XLSX_PATH
from tests.synth.test_generate import _files, _text

PATIENTS = 20
SEED = 4  # a clinic where each place an outcome is written is, for some outcome, the only one
# The table column of each (measure, months) a table has.
CSV_COLUMN = {("vas", 0): "EVA basal", ("vas", 3): "EVA 3m", ("vas", 6): "EVA 6m", ("vas", 12): "EVA 12m",
              ("womac", 0): "WOMAC basal", ("womac", 12): "WOMAC 12m",
              ("koos_pain", 0): "KOOS dolor basal", ("koos_pain", 12): "KOOS dolor 12m"}
XLSX_COLUMN = {("vas", 0): "VAS baseline", ("vas", 3): "VAS 3m", ("vas", 6): "VAS 6m", ("vas", 12): "VAS 12m",
               ("womac", 0): "WOMAC baseline", ("womac", 12): "WOMAC 12m",
               ("koos_pain", 0): "KOOS pain baseline", ("koos_pain", 12): "KOOS pain 12m"}
# A value no drawn outcome has (scores are whole or half points), to find where an outcome would be written.
SENTINEL = 77.25


def _number(value: float, language: str) -> str:
    """How the clinic writes a score: '7', '5.5' in English, '5,5' in Spanish."""
    text = str(int(value)) if value == int(value) else f"{value:g}"
    return text.replace(".", ",") if language == "es" else text


def _written(number: str, text: str) -> bool:
    """Whether ``number`` is written as a number of its own in ``text`` (not part of 17, 5,5 or a date)."""
    return re.search(rf"(?<!\d)(?<!\d[.,]){re.escape(number)}(?!\d|[.,]\d)", text) is not None


def _documents(root: Path) -> dict[str, bytes]:
    return {name: data for name, data in _files(root).items() if name != "ground_truth.json"}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    root = tmp_path_factory.mktemp("clinic")
    return root, generate_clinic(root, patients=PATIENTS, seed=SEED)


def _outcomes(truth: GroundTruth) -> list[tuple[int, int, Outcome]]:
    return [(pi, ti, o) for pi, p in enumerate(truth.patients) for ti, t in enumerate(p.treatments)
            for o in t.outcomes]


def test_every_outcome_says_where_it_is_written(clinic: tuple[Path, GroundTruth]) -> None:
    _root, truth = clinic
    assert truth.schema_version == SCHEMA_VERSION >= 2
    outcomes = _outcomes(truth)
    assert all(o.recorded_in is not None for _p, _t, o in outcomes)
    written_nowhere = [o for _p, _t, o in outcomes if not o.recorded_in]
    assert 0 < len(written_nowhere) < len(outcomes) // 5
    # Every first treatment's baseline VAS is in the first-visit note at least.
    assert all(p.treatments[0].outcomes[0].recorded_in for p in truth.patients)


def test_every_recorded_outcome_is_in_the_file_it_names(clinic: tuple[Path, GroundTruth]) -> None:
    root, truth = clinic
    with (root / CSV_PATH).open(encoding="utf-8", newline="") as fh:
        csv_rows = [dict(zip(CSV_HEADERS, r, strict=True)) for r in list(csv.reader(fh, delimiter=";"))[1:]]
    sheet = openpyxl.load_workbook(root / XLSX_PATH).active
    assert sheet is not None
    xlsx_rows = [dict(zip(XLSX_HEADERS, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    texts = {d: _text(root / d) for p in truth.patients for d in p.documents}
    kinds: set[str] = set()
    for pi, ti, o in _outcomes(truth):
        patient = truth.patients[pi]
        key = (o.measure, o.time_point_months)
        for place in o.recorded_in or []:
            where = (patient.patient_id, ti, key, place)
            if "#" in place:
                path, row = place.split("#")
                assert any(r.path == path and r.row == int(row) and r.treatment_index == ti
                           for r in patient.table_rows), where
                if path == CSV_PATH:
                    assert csv_rows[int(row)][CSV_COLUMN[key]] == _number(o.value, "es"), where
                else:
                    assert xlsx_rows[int(row)][XLSX_COLUMN[key]] == o.value, where
                kinds.add(path)
            else:
                assert place in patient.documents, where
                assert _written(_number(o.value, patient.language), texts[place]), where
                kinds.add(place.split("/")[0])
    assert kinds == {"notes", "reports", "letters", CSV_PATH, XLSX_PATH}


def test_a_table_row_names_each_score_cell_it_fills(clinic: tuple[Path, GroundTruth]) -> None:
    _root, truth = clinic
    for patient in truth.patients:
        for ref in patient.table_rows:
            columns = CSV_COLUMN if ref.path == CSV_PATH else XLSX_COLUMN
            for o in patient.treatments[ref.treatment_index].outcomes:
                in_table = (o.measure, o.time_point_months) in columns
                assert (f"{ref.path}#{ref.row}" in (o.recorded_in or [])) == in_table, (patient.patient_id, o.measure)


def test_an_outcome_written_nowhere_is_in_no_document(
    clinic: tuple[Path, GroundTruth], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Give every outcome written nowhere a value no score has and generate again: no document changes by a byte,
    and the new value is in none of the patient's documents (nor in the tables)."""
    root, truth = clinic
    nowhere = {(pi, ti, o.measure, o.time_point_months) for pi, ti, o in _outcomes(truth) if not o.recorded_in}
    assert nowhere

    def draw_with_sentinels(seed: int, index: int, nhc: str) -> PatientPlan:
        plan = draw_patient(seed, index, nhc)
        for pi, ti, measure, months in nowhere:
            if pi == index:
                t = plan.treatments[ti]
                series = {"vas": t.vas, "womac": t.womac, "koos_pain": t.koos}[measure]
                assert series[months] is not None
                series[months] = SENTINEL
        return plan

    monkeypatch.setattr(synth.generate, "draw_patient", draw_with_sentinels)
    changed = generate_clinic(tmp_path, patients=PATIENTS, seed=SEED)

    assert _documents(tmp_path) == _documents(root)
    moved = {(pi, ti, o.measure, o.time_point_months) for pi, ti, o in _outcomes(changed) if o.value == SENTINEL}
    assert moved == nowhere
    assert all(not o.recorded_in for _p, _t, o in _outcomes(changed) if o.value == SENTINEL)
    tables = (tmp_path / CSV_PATH).read_text(encoding="utf-8") + " ".join(
        str(c) for r in openpyxl.load_workbook(tmp_path / XLSX_PATH).active.iter_rows(values_only=True)  # type: ignore[union-attr]
        for c in r)
    for pi in {pi for pi, *_ in nowhere}:
        patient = changed.patients[pi]
        for d in patient.documents:
            assert not _written(_number(SENTINEL, patient.language), _text(tmp_path / d)), (patient.patient_id, d)
    assert "77,25" not in tables and "77.25" not in tables
