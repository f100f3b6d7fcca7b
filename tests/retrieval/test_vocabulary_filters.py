"""Filters on diagnosis and treatment use the clinic's vocabulary file, as extraction does (real index and embedder)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import clinical as service
from casewise.errors import RequestError
from casewise.types import Filters

VOCABULARY = """
[treatments.prp]
synonyms = ["plasma autologo enriquecido"]
[treatments.ozone]
label_es = "ozonoterapia"
label_en = "ozone therapy"
category = "injection"
synonyms = ["ozono", "o2-o3"]
[diagnoses.trochanteric_bursitis]
label_es = "bursitis trocantérea"
label_en = "trochanteric bursitis"
icd10 = "M70.6"
synonyms = ["sindrome del trocanter mayor"]
"""

NOTES = {
    "nota_1.txt": "NHC: 1000001\nPrimera visita\n\nMujer de 61 años con gonartrosis grado 2 en rodilla derecha, EVA 7. "
                  "Se pauta plasma autologo enriquecido, 3 infiltraciones.",
    "nota_2.txt": "NHC: 1000002\nPrimera visita\n\nVarón de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 6. "
                  "Se pauta ácido hialurónico, 1 infiltración.",
    "nota_3.txt": "NHC: 1000003\nPrimera visita\n\nMujer de 66 años con sindrome del trocanter mayor derecho, EVA 6. "
                  "Se pauta ozono, 4 sesiones.",
    "nota_4.txt": "NHC: 1000004\nPrimera visita\n\nMujer de 59 años con gonartrosis grado 3 en rodilla derecha, EVA 8. "
                  "Se pauta fisioterapia, 10 sesiones.",
}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    root = tmp_path_factory.mktemp("vocab_clinic")
    notes = root / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    vocab = root / "vocabulario.toml"
    vocab.write_text(VOCABULARY, encoding="utf-8")
    rt = Runtime(load_settings(data_dir=root / "data", extract={"vocabulary_file": str(vocab)}))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([notes])
    yield rt
    rt.close()


def _treatments(results) -> list[set[str]]:  # type: ignore[no-untyped-def]
    return [{t.name for t in r.case.treatments} for r in results]


@pytest.mark.parametrize("term", ["prp", "PRP", "plasma rico en plaquetas", "plasma autologo enriquecido"])
def test_treatment_filter_finds_the_case_whose_note_used_the_clinic_term(clinic, term: str) -> None:
    results = service.similar(clinic, "rodilla", filters=Filters(treatments=[term]), k=5, actor="test")
    assert len(results) == 1 and _treatments(results) == [{"prp"}], "only the case the clinic's term named PRP"


def test_new_clinic_treatment_and_diagnosis_filter_by_id_synonym_or_code(clinic) -> None:
    for term in ("ozone", "ozonoterapia", "O2-O3"):
        results = service.similar(clinic, "dolor", filters=Filters(treatments=[term]), k=5, actor="test")
        assert _treatments(results) == [{"ozone"}]
    for term in ("trochanteric_bursitis", "bursitis trocantérea", "M70.6"):
        results = service.similar(clinic, "dolor", filters=Filters(diagnoses=[term]), k=5, actor="test")
        assert len(results) == 1 and {d.name for d in results[0].case.diagnoses} == {"trochanteric_bursitis"}
    knees = service.similar(clinic, "dolor", filters=Filters(diagnoses=["gonartrosis"]), k=5, actor="test")
    assert len(knees) == 3


def test_term_outside_the_clinic_vocabulary_names_the_valid_ids(clinic) -> None:
    with pytest.raises(RequestError, match=r"filters.treatments: unknown \['acupuntura'\]; valid: .*ozone"):
        service.similar(clinic, "dolor", filters=Filters(treatments=["acupuntura"]), actor="test")


def test_query_profile_reads_the_clinic_diagnosis(clinic) -> None:
    results = service.similar(clinic, "Mujer de 64 años con sindrome del trocanter mayor", k=4, actor="test")
    assert {d.name for d in results[0].case.diagnoses} == {"trochanteric_bursitis"}
    assert any(w.startswith("diagnosis: trochanteric_bursitis") for w in results[0].why)


def test_evidence_for_a_clinic_diagnosis_counts_only_cases_with_it(clinic) -> None:
    answer = service.ask(clinic, "Mujer de 64 años con sindrome del trocanter mayor: ¿qué funcionó?", k=4,
                         actor="test")
    counted = {row.treatment for row in answer.evidence.table}
    assert "prp" not in counted and "physiotherapy" not in counted, "knee cases do not answer a hip question"
