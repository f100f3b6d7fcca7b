"""General clinical language, Spanish and English: age, sex, side, diagnoses and procedures as notes state them."""

from __future__ import annotations

import pytest

from indexing.extraction.rules import RulesExtractor


@pytest.fixture(scope="module")
def rules() -> RulesExtractor:
    return RulesExtractor()


@pytest.mark.parametrize(("text", "age", "sex"), [
    ("HPI: 55-year-old male status post right total knee arthroplasty.", 55, "M"),
    ("Varón de 55 años con artrosis de rodilla.", 55, "M"),
    ("55 y/o F with left wrist pain.", 55, "F"),
    ("The patient is a 62-year-old lady with carpal tunnel syndrome.", 62, "F"),
    ("Mujer, 70 a. Gonalgia derecha.", 70, "F"),
    ("A 90+-year-old woman with a hip fracture.", "90+", "F"),  # de-identified age over 89
    ("HX: This 44y/o RHF awoke with numbness.", 44, "F"),
    ("The patient is a 5-year, 8-month-old male who fell.", 5, "M"),
    ("Father age 79, with a stroke. The cast is only 3 weeks old.", None, None),  # the father's age is not hers
    # Stated by neither: nothing is guessed, not from the procedure, not from a duration.
    ("PROCEDURE: Right carpal tunnel release. COMPLICATIONS: None.", None, None),
    ("Dolor de 2 años de evolución en la rodilla; hace 5 años, artroscopia.", None, None),
    ("Hysterectomy in the past. Total knee arthroplasty planned.", None, None),
])
def test_age_and_sex_only_where_the_note_states_them(rules: RulesExtractor, text: str, age: object, sex: object) -> None:
    note = rules.extract(text)
    assert (note.age, note.sex) == (age, sex)


def test_english_operative_report(rules: RulesExtractor) -> None:
    note = rules.extract("PREOPERATIVE DIAGNOSIS: Left carpal tunnel syndrome.\n"
                         "PROCEDURE: Left endoscopic carpal tunnel release.\nCOMPLICATIONS: None.\n"
                         "X-rays show no fracture.", language="en")
    dx = {d.name: d for d in note.diagnoses}
    assert set(dx) == {"carpal_tunnel_syndrome"}, "the negated fracture is left out"
    assert dx["carpal_tunnel_syndrome"].side == "left"
    tx = {t.name: t for t in note.treatments}
    assert tx["carpal_tunnel_release"].side == "left" and tx["carpal_tunnel_release"].category == "surgery"


def test_spanish_note(rules: RulesExtractor) -> None:
    note = rules.extract("Mujer de 68 años. Juicio clínico: fractura de cadera derecha.\n"
                         "Intervención: artroplastia total de cadera derecha.", language="es")
    assert note.age == 68 and note.sex == "F"
    dx = {d.name: d for d in note.diagnoses}
    assert dx["hip_fracture"].side == "right"
    assert "total_hip_arthroplasty" in {t.name for t in note.treatments}


def test_osteoarthritis_of_a_named_joint_is_that_joints_diagnosis(rules: RulesExtractor) -> None:
    """The clinic's own id (knee_oa), so a question about knee osteoarthritis finds the case."""
    note = rules.extract("PREOPERATIVE DIAGNOSIS: Osteoarthritis, right knee.\nPROCEDURE: Right total knee "
                         "arthroplasty.", language="en")
    assert [(d.name, d.side) for d in note.diagnoses] == [("knee_oa", "right")]
    assert {t.name for t in note.treatments} >= {"total_knee_arthroplasty"}


def test_heading_phrases_no_vocabulary_knows_are_kept(rules: RulesExtractor) -> None:
    note = rules.extract("POSTOPERATIVE DIAGNOSIS: Left patellar maltracking syndrome with plica.\n"
                         "PROCEDURE: Left knee plica excision and Insall advancement.", language="en")
    assert note.diagnoses and note.treatments
    assert all(" " not in d.name for d in note.diagnoses), "ids, not phrases"
    assert any("plica" in t.label.lower() or t.name == "excision" for t in note.treatments)


def test_the_clinics_own_notes_read_as_before(rules: RulesExtractor) -> None:
    """A regenerative-medicine note keeps exactly what the clinic's vocabulary reads in it: a comorbidity or an
    old medication in general language does not become a second diagnosis or treatment."""
    note = rules.extract("Varón de 61 años. Gonartrosis izquierda KL2. Antecedentes: gota, toma AINEs. "
                         "Infiltración PRP 4 ml, 3 sesiones. EVA basal 7.", language="es")
    assert [d.name for d in note.diagnoses] == ["knee_oa"]
    assert [t.name for t in note.treatments] == ["prp"]


@pytest.mark.parametrize(("complications", "expected"), [
    ("None.", []), ("There were no complications.", []), ("No intraoperative complications.", []),
    ("Superficial wound infection, treated with oral antibiotics.", ["infection"]),
])
def test_complications_where_the_report_states_them(rules: RulesExtractor, complications: str,
                                                    expected: list[str]) -> None:
    note = rules.extract(f"PROCEDURE: Right total knee arthroplasty.\nCOMPLICATIONS: {complications}\n"
                         "ANESTHESIA: Spinal.", language="en")
    assert [a.name for a in note.adverse_events] == expected
