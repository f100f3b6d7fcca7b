"""A case's sex from the given name on the note's patient line, read before de-identification removes the name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings, Settings
from indexing.deid import Deidentifier
from indexing.deid.name_sex import sex_of_given_name
from indexing.reader import DocumentReader
from indexing.sources import content_hash, doc_id_for

# Invented notes: no sex word, no title, no "la paciente"/"el paciente" besides the name.
_BODY = "Consulta por gonalgia derecha de 6 meses. EVA 7/10. Se pauta fisioterapia. Control en 3 meses."


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("test-secret")))


@pytest.fixture(scope="module")
def reader(deid: Deidentifier, tmp_path_factory: pytest.TempPathFactory) -> DocumentReader:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), deid=DeidSettings(secret=SecretStr("test-secret")))
    return DocumentReader(settings, deid)


def _read_sex(reader: DocumentReader, tmp_path: Path, text: str) -> str | None:
    path = tmp_path / "nota.txt"
    path.write_text(text, encoding="utf-8")
    doc = reader.read(path, content_hash(path), doc_id_for(path))
    sexes = {f.sex for f in doc.facts.values()}
    assert len(sexes) == 1
    return sexes.pop()


def test_gendered_lists_decide_and_ambiguous_or_unknown_names_give_nothing() -> None:
    assert sex_of_given_name("Lucía") == "F"
    assert sex_of_given_name("Marcos") == "M"
    assert sex_of_given_name("Edward") == "M"
    assert sex_of_given_name("Ejemplo") is None  # in neither list


@pytest.mark.parametrize(("note", "sex", "name_words"), [
    ("Nombre: Lucía Ejemplo Prueba\n" + _BODY, "F", ["Lucía", "Ejemplo", "Prueba"]),
    ("Paciente: Marcos Inventado Ficticio\n" + _BODY, "M", ["Marcos", "Inventado", "Ficticio"]),
    ("Pt: Edward Madeup\nKnee pain for 6 months. VAS 7/10. Physiotherapy. Review in 3 months.", "M",
     ["Edward", "Madeup"]),
])
def test_patient_line_given_name_gives_sex_and_the_name_is_still_removed(
        deid: Deidentifier, note: str, sex: str, name_words: list[str]) -> None:
    res = deid.deidentify(note)
    assert res.name_sex == sex
    for word in name_words:
        assert word not in res.text


def test_the_sex_reaches_the_case_when_the_text_states_none(reader: DocumentReader, tmp_path: Path) -> None:
    assert _read_sex(reader, tmp_path, "Nombre: Lucía Ejemplo Prueba\n" + _BODY) == "F"
    assert _read_sex(reader, tmp_path, "Paciente: Marcos Inventado Ficticio\n" + _BODY) == "M"


def test_the_text_wins_over_the_name(reader: DocumentReader, tmp_path: Path) -> None:
    note = "Nombre: Lucía Ejemplo Prueba\nVarón de 60 años. " + _BODY
    assert _read_sex(reader, tmp_path, note) == "M"


@pytest.mark.parametrize("note", [
    "Dra.: Lucía Ejemplo Prueba\n" + _BODY,
    "Médico: Dr. Marcos Inventado Ficticio\n" + _BODY,
    "Paciente: Dra. Lucía Ejemplo\n" + _BODY,
    "Madre: Lucía Ejemplo Prueba\n" + _BODY,
    "Familiar: Marcos Inventado\n" + _BODY,
    "Mother's name: Lucy Madeup\nKnee pain for 6 months.",
])
def test_professionals_and_relatives_give_nothing(deid: Deidentifier, note: str) -> None:
    res = deid.deidentify(note)
    assert res.name_sex is None
    assert "Ejemplo" not in res.text and "Inventado" not in res.text and "Madeup" not in res.text


def test_patient_lines_that_disagree_give_nothing(deid: Deidentifier) -> None:
    res = deid.deidentify("Nombre: Lucía Ejemplo Prueba\nPaciente: Marcos Inventado\n" + _BODY)
    assert res.name_sex is None


@pytest.mark.parametrize(("note", "sex"), [
    ("Paciente: INVENTADO FICTICIO, Lucía\n" + _BODY, "F"),  # surnames in capitals first: the given name follows
    ("Patient: MADEUP, Edward\nKnee pain for 6 months.", "M"),
    ("Paciente: MARCOS, Lucía\n" + _BODY, "F"),  # a capitalised surname that is also a given name is not read
    ("Nombre: LUCÍA EJEMPLO\n" + _BODY, None),  # all capitals, no comma: which word is the given name is unknown
])
def test_surname_first_lines_read_the_given_name_after_the_comma(deid: Deidentifier, note: str,
                                                                 sex: str | None) -> None:
    res = deid.deidentify(note)
    assert res.name_sex == sex
    assert "Lucía" not in res.text and "Edward" not in res.text


def test_a_patient_label_inside_a_joined_form_line_counts(deid: Deidentifier) -> None:
    res = deid.deidentify("NHC: 123456 Paciente: Marcos Inventado Ficticio Domicilio: calle Falsa 1\n" + _BODY)
    assert res.name_sex == "M"
    assert "Marcos" not in res.text


def test_casewise_extract_takes_the_same_sex_as_indexing(deid: Deidentifier, tmp_path: Path) -> None:
    """`casewise extract` (indexing/extract_files.py) reads a note the way indexing does: the name's sex where the
    text states none, the text's where it does."""
    from indexing.extract_files import extract_path
    from indexing.extraction.rules import RulesExtractor

    named, stated = tmp_path / "a.txt", tmp_path / "b.txt"
    named.write_text("Nombre: Lucía Ejemplo Prueba\n" + _BODY, encoding="utf-8")
    stated.write_text("Nombre: Lucía Otra Persona\nVarón de 60 años. " + _BODY, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", deid=DeidSettings(secret=SecretStr("test-secret")))
    batch = extract_path([named, stated], settings, deid, RulesExtractor())
    sex = {n.doc_id: n.extraction.sex for n in batch.notes}
    assert sex == {doc_id_for(named): "F", doc_id_for(stated): "M"}
