"""The ICD-10 coder on notes nobody coded: learned terms, terminology labels, typos, accents, abbreviations,
negation and 'rule out', laterality; and the model file `learn_codes` writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from casewise.errors import ConfigError, InputFileError
from indexing.coding.coder import Coder, LexiconCoder
from indexing.coding.codiesp import read_folder
from indexing.coding.learn import build_lexicon, learn_codes, learn_model
from indexing.coding.model import MODEL_NAME, CoderModel, LanguageModel

FIXTURE = Path(__file__).parent / "fixtures" / "codiesp_mini"


@pytest.fixture(scope="module")
def coder() -> LexiconCoder:
    notes = list(read_folder(FIXTURE).values())
    return LexiconCoder(learn_model(notes, languages=("es",), use_terminology=False))


def codes(coder: Coder, text: str, language: str = "es") -> dict[str, object]:
    return {c.code: c for c in coder.code(text, language=language)}  # type: ignore[arg-type]


def test_a_new_spanish_note_gets_the_codes_its_words_support_with_span_and_confidence(coder: LexiconCoder) -> None:
    text = "Paciente de 70 años con hipertensión arterial. Ingresa por neumonía. Se solicita radiografía de tórax."
    found = {c.code: c for c in coder.code(text, language="es")}
    assert {"i10", "j18.9", "bw03zzz"} <= set(found)
    htn = found["i10"]
    assert htn.kind == "diagnosis" and htn.system == "ICD-10-CM"
    assert text[htn.start:htn.end] == htn.text == "hipertensión arterial"  # type: ignore[misc]
    assert 0 < htn.confidence <= 1
    assert found["bw03zzz"].kind == "procedure" and found["bw03zzz"].system == "ICD-10-PCS"
    assert "dolor abdominal" not in text and "r10.9" not in found


def test_accents_case_plurals_and_a_typo_do_not_hide_a_term(coder: LexiconCoder) -> None:
    assert "i10" in codes(coder, "HIPERTENSION ARTERIAL conocida.")
    assert "j18.9" in codes(coder, "Dos neumonias previas.")
    assert "e11.9" in codes(coder, "Diabetes melitus tipo 2.")  # one letter missing


def test_an_abbreviation_is_read_as_the_term_it_stands_for(coder: LexiconCoder) -> None:
    assert "i10" in codes(coder, "Antecedentes: HTA y dislipemia.")
    assert "e11.9" in codes(coder, "DM tipo 2 desde 2010.")


@pytest.mark.parametrize("text", ["Afebril, sin fiebre ni dolor abdominal.", "No presenta neumonía.",
                                  "Se solicita radiografía para descartar neumonía.",
                                  "La fiebre fue descartada."])
def test_negated_and_ruled_out_mentions_are_not_coded(coder: LexiconCoder, text: str) -> None:
    found = codes(coder, text)
    assert not {"r50.9", "r10.9", "j18.9"} & set(found), found


def test_negation_stops_at_the_end_of_its_sentence(coder: LexiconCoder) -> None:
    assert "j18.9" in codes(coder, "No refiere tos. Neumonía basal derecha.")
    assert "r10.9" in codes(coder, "Sin fiebre, pero con dolor abdominal.")


def test_a_spanish_term_is_found_with_its_words_apart_in_one_sentence_but_not_across_sentences(
        coder: LexiconCoder) -> None:
    found = {c.code: c for c in coder.code("Se pidió una radiografía simple y urgente de tórax.", language="es")}
    assert found["bw03zzz"].text == "radiografía simple y urgente de tórax"
    assert "r10.9" in codes(coder, "Presenta dolor intenso y continuo en la zona abdominal.")
    assert "bw03zzz" not in codes(coder, "Radiografía de abdomen. Tórax normal.")
    assert "bw03zzz" not in codes(coder, "Radiografía de columna lumbar, cadera, pelvis, abdomen y luego del tórax.")


def test_the_side_of_a_mention_is_kept(coder: LexiconCoder) -> None:
    found = {c.code: c for c in coder.code("Gonartrosis de rodilla derecha.", language="es")}
    assert found["m17.11"].side == "right"
    pneumonia = {c.code: c for c in coder.code("Neumonía izquierda.", language="es")}["j18.9"]
    assert pneumonia.side == "left"


def test_terminology_labels_code_a_diagnosis_no_example_taught() -> None:
    lex = build_lexicon([], "es", use_terminology=True)
    model = CoderModel({"es": LanguageModel(lex, {"diagnosis": 0.1, "procedure": 0.5}, {"diagnosis/term": 0.5})})
    found = codes(LexiconCoder(model), "Diagnosticado de hipertensión esencial hace años.")
    assert "i10" in found
    assert found["i10"].label.startswith("Hipertensión esencial")  # type: ignore[attr-defined]


def test_english_notes_are_coded_from_the_translations(tmp_path: Path) -> None:
    report = learn_codes([FIXTURE], tmp_path / "m.json.gz", languages=("es", "en"))
    coder = LexiconCoder.load(report.path)  # type: ignore[arg-type]
    found = codes(coder, "History of arterial hypertension; admitted with pneumonia.", "en")
    assert {"i10", "j18.9"} <= set(found)
    assert "j18.9" not in codes(coder, "No pneumonia on the radiograph.", "en")


def test_learn_codes_writes_a_versioned_model_in_the_data_folder(tmp_path: Path) -> None:
    report = learn_codes([FIXTURE], data_dir=tmp_path, languages=("es",))
    assert report.path == tmp_path / "coding" / MODEL_NAME and report.path.is_file()
    assert report.notes == 8 and "8 notes" in report.summary()
    with gzip.open(report.path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    assert data["format"] == "casewise-icd10-coder" and data["version"] == 1 and data["meta"]["notes"] == 8
    again = LexiconCoder.load(report.path)
    assert "i10" in codes(again, "Hipertensión arterial.")


def test_an_old_or_foreign_model_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "old.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"format": "casewise-icd10-coder", "version": 0, "languages": {}}, fh)
    with pytest.raises(InputFileError, match="learn it again"):
        CoderModel.load(path)
    with pytest.raises(ConfigError, match="casewise learn --codes"):
        CoderModel.load(tmp_path / "missing.json.gz")


def test_a_folder_that_is_not_codiesp_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="text_files"):
        read_folder(tmp_path)
