"""A case's ICD-10 codes are shown with their labels in the reader's language, predicted ones marked, in
`casewise similar` (table and --json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casewise.types import Case, Code, Diagnosis
from cli.clinical import codes_text

FIXTURE = Path(__file__).parents[1] / "indexing" / "coding" / "fixtures" / "codiesp_mini"


def _case() -> Case:
    return Case(case_id="PT-1", codes=[
        Code(system="ICD-10-CM", kind="diagnosis", code="m17.11", confidence=1.0, source="recorded", text="Gonartrosis"),
        Code(system="ICD-10-CM", kind="diagnosis", code="i10", confidence=0.9, label="hipertensión arterial",
             text="HTA"),
        Code(system="ICD-10-PCS", kind="procedure", code="bw03zzz", confidence=0.8, label="radiografía de tórax"),
    ])


def test_codes_read_in_the_answers_language_with_predicted_ones_marked() -> None:
    es, en = codes_text(_case(), "es"), codes_text(_case(), "en")
    # CIE-10 stops at M17.1: the side ICD-10-CM's M17.11 states is kept; a procedure is named as ICD-10-PCS
    assert es == ("M17.11 Otras gonartrosis primarias, derecha; I10 Hipertensión esencial (primaria)*; "
                  "PCS BW03ZZZ radiografía de tórax*")
    assert en.startswith("M17.11 Unilateral primary osteoarthritis, right knee; I10 Essential (primary) hypertension*")
    assert codes_text(_case(), "en", limit=1).endswith("(+2)"), "how many more codes the case has"


def test_a_finer_icd10_cm_code_read_in_spanish_keeps_its_side() -> None:
    case = Case(case_id="PT-3", codes=[
        Code(system="ICD-10-CM", kind="diagnosis", code=code, confidence=0.9, label="x")
        for code in ("m17.12", "m25.561", "m17.0")])
    assert codes_text(case, "es").split("; ") == [
        "M17.12 Otras gonartrosis primarias, izquierda*", "M25.561 Dolor en articulación, derecha*",
        "M17.0 Gonartrosis primaria, bilateral*"], "M17.0 is CIE-10's own code: nothing added"


def test_the_cases_own_condition_comes_before_its_comorbidities() -> None:
    case = Case(case_id="PT-2", diagnoses=[Diagnosis(name="knee_oa", icd10="M17.1")], codes=[
        Code(system="ICD-10-CM", kind="diagnosis", code="e11.9", confidence=0.95, label="diabetes"),
        Code(system="ICD-10-CM", kind="diagnosis", code="r52", confidence=0.9, label="dolor"),
        Code(system="ICD-10-CM", kind="diagnosis", code="m17.1", confidence=0.6, label="gonartrosis"),
        Code(system="ICD-10-CM", kind="diagnosis", code="i10", confidence=1.0, source="recorded", label="HTA"),
    ])
    assert [c.split()[0] for c in codes_text(case, "es").split("; ")] == ["M17.1", "I10", "E11.9", "R52"]


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coded")
    (root / "records").mkdir()
    (root / "records" / "nota.txt").write_text(
        "NHC: 2000001\nConsulta\n\nMujer de 70 años con hipertensión arterial y gonalgia.\n", encoding="utf-8")
    assert run(["learn", "--codes", str(FIXTURE), "--language", "es"], root / "data").returncode == 0
    res = run(["index", str(root / "records")], root / "data")
    assert res.returncode == 0, res.stderr
    return root / "data"


def test_similar_shows_each_case_with_its_codes_and_labels(data: Path) -> None:
    res = run(["similar", "--describe", "Mujer de 70 años con hipertensión arterial"], data)
    assert res.returncode == 0, res.stderr
    words = " ".join(res.stdout.split())
    assert "CIE-10" in words and "I10" in words and "propuesto por el codificador CIE-10" in words
    cases = json.loads(run(["similar", "--describe", "hipertensión arterial", "--json"], data).stdout)
    [code] = [c for c in cases[0]["case"]["codes"] if c["code"] == "i10"]
    assert code["source"] == "predicted" and code["text"] == "hipertensión arterial" and 0 < code["confidence"] <= 1
