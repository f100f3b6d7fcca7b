"""Filters accept ICD-10 codes, 3-character categories and code labels, matched against the codes stored on each
case (predicted by the coder from the notes, or recorded in the clinic's table); real index, embedder and coder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import clinical as service
from casewise.errors import RequestError
from casewise.types import Filters
from indexing.coding.learn import learn_codes

FIXTURE = Path(__file__).parents[1] / "indexing" / "coding" / "fixtures" / "codiesp_mini"
NOTES = {
    "nota_1.txt": "NHC: 1000001\nConsulta\n\nMujer de 70 años con hipertensión arterial. Sin neumonía.",
    "nota_2.txt": "NHC: 1000002\nConsulta\n\nVarón de 64 años con diabetes mellitus tipo 2 y dolor de espalda.",
    "nota_3.txt": "NHC: 1000003\nConsulta\n\nMujer de 81 años que ingresa por neumonía. Se solicita radiografía de tórax.",
}
TABLE = "NHC;Sexo;Fecha;Diagnóstico;CIE-10;Lado\n1000004;Mujer;03/04/2021;Gonartrosis;M17.11;Dcha.\n"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    root = tmp_path_factory.mktemp("coded_clinic")
    records = root / "records"
    records.mkdir()
    for name, text in NOTES.items():
        (records / name).write_text(text, encoding="utf-8")
    (records / "visitas.csv").write_text(TABLE, encoding="utf-8")
    learn_codes([FIXTURE], data_dir=root / "data", languages=("es",))
    rt = Runtime(load_settings(data_dir=root / "data"))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])
    yield rt
    rt.close()


def _found(rt, **filters: list[str]) -> set[str]:  # type: ignore[no-untyped-def]
    """The record numbers of the cases a filtered search returns."""
    by_case = {rt.deid.pseudonym(n): n for n in ("1000001", "1000002", "1000003", "1000004")}
    results = service.similar(rt, "paciente", filters=Filters(**filters), k=10, actor="test")  # type: ignore[arg-type]
    return {by_case[r.case_id] for r in results}


@pytest.mark.parametrize("value", ["I10", "i10", "I10 "])
def test_a_diagnosis_code_finds_the_case_whose_note_was_coded_with_it(clinic, value: str) -> None:
    assert _found(clinic, diagnoses=[value]) == {"1000001"}


def test_a_category_finds_the_cases_with_any_code_under_it(clinic) -> None:
    assert _found(clinic, diagnoses=["E11"]) == {"1000002"}  # coded e11.9 from 'diabetes mellitus tipo 2'
    assert _found(clinic, diagnoses=["M17"]) == {"1000004"}  # recorded m17.11 in the table
    assert _found(clinic, diagnoses=["M17.1"]) == {"1000004"}
    assert _found(clinic, diagnoses=["J18"]) == {"1000003"}, "the negated pneumonia of the first note is not coded"
    assert _found(clinic, diagnoses=["I10", "E11"]) == {"1000001", "1000002"}, "a list means any of"


def test_a_code_label_in_spanish_or_english_finds_the_cases_coded_under_it(clinic) -> None:
    assert _found(clinic, diagnoses=["Hipertensión esencial (primaria)"]) == {"1000001"}  # CIE-10's label of I10
    assert _found(clinic, diagnoses=["essential hypertension"]) == {"1000001"}  # ICD-10-CM: 'Essential (primary) hypertension'
    assert _found(clinic, diagnoses=["osteoarthritis of knee"]) == {"1000004"}


def test_a_procedure_code_or_its_first_characters_filter_treatments(clinic) -> None:
    assert _found(clinic, treatments=["BW03ZZZ"]) == {"1000003"}
    assert _found(clinic, treatments=["bw03"]) == {"1000003"}


def test_a_code_no_case_has_finds_nothing_and_an_unknown_label_says_what_is_accepted(clinic) -> None:
    assert _found(clinic, diagnoses=["C50.9"]) == set()
    with pytest.raises(RequestError, match=r"filters.diagnoses: unknown \['xyzzy'\].*ICD-10 code"):
        _found(clinic, diagnoses=["xyzzy"])
