"""The rules extractor on hand-written Spanish and English notes (invented, de-identified), the normalizers, and a
clinic's vocabulary file merged over the built-in one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from casewise.errors import ConfigError
from casewise.settings import load_settings
from casewise.vocabulary import BUILTIN, load_vocabulary
from indexing.extraction import make_extractor
from indexing.extraction.interface import facts_from
from indexing.extraction.normalize import find_dates, normalize_dose, parse_number, sessions_of, side_of
from indexing.extraction.rules import RulesExtractor

FIRST_VISIT_ES = """PRIMERA VISITA
Fecha: 03/04/2023
Mujer de 61 años. Dolor en rodilla izquierda de 8 meses de evolución. Rx: gonartrosis KL grado III.
EVA 7,5/10, WOMAC total 52/96, KOOS dolor 40. Lequesne 11.
Dx: artrosis de rodilla izquierda (M17.1).
Plan: plasma rico en plaquetas IA, 3 infiltraciones cada 2 semanas, 4 ml. Revisión en 3 meses.
"""

FOLLOW_UP_EN = """6-month review
Seen: 2023-10-05
s/p hyaluronic acid 2023-04-03 (single injection, 2 ml (20 mg/ml)), right knee.
VAS 3.5/10, WOMAC 30. (baseline VAS 7). 3m: 5.
Post-injection flare for 2 days, settled with ice. Returned to running at 10 weeks.
"""

LETTER_ES = """Informe de alta
Diagnóstico: epicondilitis lateral derecha.
Tratamiento realizado
12/01/2022: ondas de choque (3 sesiones, 2000 impulsos a 0,15 mJ/mm²)
Evolución
Tras ondas de choque: EVA 6 -> 2,5 a los 6 meses. No efectos secundarios.
"""


def _one(items, name):  # type: ignore[no-untyped-def]
    found = [x for x in items if getattr(x, "name", getattr(x, "measure", None)) == name]
    assert found, f"{name} not extracted"
    return found[0]


def test_spanish_first_visit_gives_diagnosis_treatment_dose_and_baseline_scores() -> None:
    note = RulesExtractor().extract(FIRST_VISIT_ES)
    assert note.language == "es" and note.sex == "F" and note.age == 61 and note.time_point_months == 0.0
    dx = _one(note.diagnoses, "knee_oa")
    assert (dx.icd10, dx.side, dx.severity) == ("M17.1", "left", "KL3")
    prp = _one(note.treatments, "prp")  # 'plasma rico en plaquetas' is PRP
    assert (prp.dose, prp.volume_ml, prp.sessions, prp.category) == ("4 ml", 4.0, 3, "biologic")
    scores = {(o.measure, o.months): o.value for o in note.outcomes}
    assert scores == {("VAS", 0.0): 7.5, ("WOMAC", 0.0): 52.0, ("KOOS", 0.0): 40.0, ("LEQUESNE", 0.0): 11.0}
    assert {o.treatment for o in note.outcomes} == {"prp"}
    assert note.follow_up_dates == [dt.date(2023, 7, 3)]  # 'Revisión en 3 meses' from the visit date (day first)
    assert FIRST_VISIT_ES[dx.span[0]:dx.span[1]].lower().startswith("gonartrosis")  # spans point into the note


def test_english_follow_up_gives_time_points_baseline_adverse_event_and_return_to_activity() -> None:
    note = RulesExtractor().extract(FOLLOW_UP_EN)
    assert note.language == "en" and note.time_point_months == 6.0
    ha = _one(note.treatments, "hyaluronic_acid")
    assert (ha.date, ha.dose, ha.sessions) == (dt.date(2023, 4, 3), "2 ml 20 mg/ml", 1)
    scores = {(o.measure, o.months): o.value for o in note.outcomes}
    assert scores[("VAS", 6.0)] == 3.5 and scores[("VAS", 0.0)] == 7.0 and scores[("VAS", 3.0)] == 5.0
    assert scores[("WOMAC", 6.0)] == 30.0
    assert scores[("RTA", 2.3)] == 1.0  # returned to running at 10 weeks
    assert [a.name for a in note.adverse_events] == ["post_injection_flare"]


def test_letter_reads_treatment_dates_shockwave_dose_and_before_after_scores() -> None:
    note = RulesExtractor().extract(LETTER_ES)
    eswt = _one(note.treatments, "eswt")
    assert eswt.date == dt.date(2022, 1, 12)
    assert eswt.dose == "2000 impulses 0.15 mJ/mm2" and eswt.sessions == 3
    assert {(o.measure, o.months, o.value, o.treatment) for o in note.outcomes} == {
        ("VAS", 0.0, 6.0, "eswt"), ("VAS", 6.0, 2.5, "eswt")}
    assert note.adverse_events == []  # 'No efectos secundarios' is a negation


def test_negated_and_past_treatments_are_not_treatments_given() -> None:
    text = ("Primera consulta. Gonartrosis derecha. No infiltraciones previas con corticoides. Sin PRP. "
            "Se propone ácido hialurónico, 2 ml. Continue HEP.")
    names = [t.name for t in RulesExtractor().extract(text).treatments]
    assert names == ["hyaluronic_acid"]


def test_outcome_table_laid_out_by_text_extraction_is_read_per_time_point() -> None:
    report = ("Informe de evolución\nTratamiento\n5 de mayo de 2022: PRP - 3 inyecciones, 4 ml.\nEvolución\n"
              "PRP: Mejoría clara.\nBasal\n\n3 m\n6 m\n12 m\nEVA\n7\n5,5\n4\n3\nWOMAC\n50\n30\n")
    note = RulesExtractor().extract(report)
    got = {(o.measure, o.months, o.value, o.treatment) for o in note.outcomes}
    assert {("VAS", 0.0, 7.0, "prp"), ("VAS", 3.0, 5.5, "prp"), ("VAS", 6.0, 4.0, "prp"),
            ("VAS", 12.0, 3.0, "prp")} <= got
    # A short row lost its empty cells: only its baseline is certain.
    assert ("WOMAC", 0.0, 50.0, "prp") in got and not any(o[0] == "WOMAC" and o[1] > 0 for o in got)


def test_implausible_score_is_kept_for_review_but_not_given_to_case_assembly() -> None:
    note = RulesExtractor().extract("Revisión 3 meses tras PRP. EVA 14. WOMAC 120. VAS 65/100 en reposo.")
    by = {o.measure: o for o in note.outcomes}
    assert by["VAS"].value == 14 and not by["VAS"].plausible
    assert by["WOMAC"].value == 120 and not by["WOMAC"].plausible
    assert [o.measure for o in facts_from(note).outcomes] == []
    scaled = RulesExtractor().extract("Control 3 meses tras PRP. VAS 65/100.")
    assert [(o.value, o.plausible) for o in scaled.outcomes] == [(6.5, True)]  # a 100-mm VAS is converted


def test_numbers_dates_sides_doses_and_sessions_are_normalized() -> None:
    assert parse_number("5,5") == 5.5 and parse_number("5.5") == 5.5 and parse_number("1.200") == 1200
    dmy = [d for _, _, d in find_dates("03/04/2023 y 15/04/2023")]
    assert dmy == [dt.date(2023, 4, 3), dt.date(2023, 4, 15)]
    assert [d for _, _, d in find_dates("04/15/2023")] == [dt.date(2023, 4, 15)]  # only month-first is possible
    assert [d for _, _, d in find_dates("03/04/2023", order="mdy")] == [dt.date(2023, 3, 4)]
    assert [d for _, _, d in find_dates("3 de marzo de 2021, March 5, 2021, 7 Jun 2020, 2019-12-26")] == [
        dt.date(2021, 3, 3), dt.date(2021, 3, 5), dt.date(2020, 6, 7), dt.date(2019, 12, 26)]  # in text order
    assert side_of("rodilla izqda") == "left" and side_of("R knee") == "right" and side_of("ambas rodillas") == "bilateral"
    assert normalize_dose("triamcinolona 40 mg") == ("40 mg", None)
    assert normalize_dose("2 cc") == ("2 ml", 2.0) and normalize_dose("3,5 ml") == ("3.5 ml", 3.5)
    assert sessions_of("dosis única") == 1 and sessions_of("10 ses.") == 10 and sessions_of("2 injections q2w") == 2


def test_month_first_clinic_setting_reads_numeric_dates_month_first(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, extract={"date_order": "mdy"})
    note = make_extractor(settings).extract("FU after PRP on 03/04/2023. VAS 3.")
    assert note.treatments[0].date == dt.date(2023, 3, 4)


def test_clinic_vocabulary_file_adds_synonyms_and_new_terms(tmp_path: Path) -> None:
    toml = tmp_path / "vocab.toml"
    toml.write_text(
        '[treatments.prp]\nsynonyms = ["plasma autólogo"]\n'
        '[treatments.ozone]\nlabel_es = "ozonoterapia"\nlabel_en = "ozone therapy"\ncategory = "injection"\n'
        'synonyms = ["ozono", "ozone"]\n'
        '[diagnoses.trochanteric_bursitis]\nlabel_es = "bursitis trocantérea"\nicd10 = "M70.6"\n'
        'synonyms = ["bursitis trocanterea"]\n', encoding="utf-8")
    settings = load_settings(data_dir=tmp_path, extract={"vocabulary_file": str(toml)})
    note = make_extractor(settings).extract("Bursitis trocantérea derecha. Se infiltra plasma autólogo 4 ml y ozono.")
    assert {t.name for t in note.treatments} == {"prp", "ozone"}
    assert [(d.name, d.icd10) for d in note.diagnoses] == [("trochanteric_bursitis", "M70.6")]
    assert BUILTIN.find_treatments("ozono") == []  # the built-in vocabulary is not changed
    yaml_file = tmp_path / "vocab.yaml"
    yaml_file.write_text("measures:\n  IKDC:\n    synonyms: [ikdc]\n    higher_is_better: true\n    range: [0, 100]\n",
                         encoding="utf-8")
    assert load_vocabulary(yaml_file).measure_id("IKDC subjetivo") == "IKDC"


@pytest.mark.parametrize(("body", "message"), [
    ('[treatments.prp]\nsynonym = ["x"]\n', "treatments.prp: unknown field(s) synonym"),
    ('[diagnoses.new_dx]\nsynonyms = ["y"]\n', "diagnoses.new_dx: a new term needs label_es or label_en"),
    ('[diagnoses.knee_oa]\nicd10 = "knee"\n', "diagnoses.knee_oa.icd10: 'knee' is not an ICD-10 code"),
    ("[treatments\n", "cannot parse the vocabulary file"),
])
def test_bad_vocabulary_file_names_the_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "vocab.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_vocabulary(path)
    assert str(path) in str(err.value) and message in str(err.value)
    with pytest.raises(ConfigError, match="no such file"):
        load_vocabulary(tmp_path / "missing.toml")


def test_unknown_backend_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="extract.backend"):
        load_settings(data_dir=tmp_path, extract={"backend": "gpt"})
    llm_without_server = load_settings(data_dir=tmp_path, extract={"backend": "llm"})
    with pytest.raises(ConfigError, match="llm.backend=openai and llm.base_url"):
        make_extractor(llm_without_server)


@pytest.mark.parametrize(("text", "scores"), [
    ("Steroid injection Jan 2021: VAS 7.\nAfter PT: VAS 6.5 -> 2 at 12 months.", [(6.5, 0.0), (2.0, 12.0)]),
    ("March 5, 2021: PT (10 visits). VAS 6 -> 3 at 3 months.", [(6.0, 0.0), (3.0, 3.0)]),
])
def test_physiotherapy_written_pt_in_a_letter_gets_its_own_scores(text: str, scores: list[tuple[float, float]]) -> None:
    note = RulesExtractor().extract(text, language="en")
    pt = sorted((o.value, o.months) for o in note.outcomes if o.treatment == "physiotherapy")
    assert pt == sorted(scores), "the scores after 'PT' belong to physiotherapy, not to the treatment before it"


def test_pt_meaning_patient_is_not_a_treatment() -> None:
    names = [t.name for t in RulesExtractor().extract("PT reports knee pain, VAS 7. Plan: PRP.", language="en").treatments]
    assert names == ["prp"]
