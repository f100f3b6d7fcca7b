"""The rules planner reads what a clinician asks (ES and EN): intent, condition, arms, prior and excluded
treatments, scales (and the ones the clinic does not record), time points, sessions and the patient profile."""

from __future__ import annotations

import pytest

from retrieval.plan import RulesPlanner

PLANNER = RulesPlanner()


@pytest.mark.parametrize(("question", "intent"), [
    ("¿Cuántos pacientes con gonartrosis recibieron PRP?", "count"),
    ("How many women with knee osteoarthritis were treated with hyaluronic acid?", "count"),
    ("Lista los casos de tendinopatía aquílea tratados con fisioterapia", "list"),
    ("List the cases of plantar fasciitis treated with shockwave therapy", "list"),
    ("Compara PRP y ácido hialurónico en gonartrosis: EVA a los 3 y 6 meses", "compare"),
    ("Compare PRP vs corticosteroid for tennis elbow on VAS at 3, 6 and 12 months", "compare"),
    ("¿Qué dosis y cuántas sesiones de PRP se usaron en epicondilitis?", "regimen"),
    ("What dose and how many sessions of hyaluronic acid were used for knee OA?", "regimen"),
    ("¿Qué efectos adversos hubo tras BMAC en gonartrosis?", "adverse_events"),
    ("What adverse events were reported after PRP in knee OA?", "adverse_events"),
    ("¿Cómo evolucionó la EVA tras ondas de choque en fascitis plantar?", "outcome_over_time"),
    ("How did VAS change over time after PRP in patellar tendinopathy?", "outcome_over_time"),
    ("Dame el nombre y el teléfono de los pacientes con fascitis plantar", "identifier_request"),
    ("Give me the record numbers of the knee OA patients treated with PRP", "identifier_request"),
    ("¿Qué funciona mejor?", "too_vague"),
    ("What works?", "too_vague"),
    ("Mujer de 58 años con gonartrosis grado 2, EVA 7. ¿Qué tratamientos funcionaron en pacientes similares?",
     "what_worked"),
    ("45-year-old man with tennis elbow, VAS 7: show me similar cases", "similar_cases"),
])
def test_intent(question: str, intent: str) -> None:
    assert PLANNER.plan(question).intent == intent


def test_comparison_reads_both_arms_scale_and_every_time_point() -> None:
    plan = PLANNER.plan("Compara PRP y ácido hialurónico en gonartrosis: WOMAC a los 3, 6 y 12 meses")
    assert plan.condition_ids == ["knee_oa"] and plan.conditions[0].icd10 == "M17"
    assert plan.treatments == ["prp", "hyaluronic_acid"]
    assert plan.measures == ["WOMAC"] and plan.time_points == [3.0, 6.0, 12.0]
    assert plan.language == "es"


def test_prior_failed_and_excluded_treatments_are_not_arms() -> None:
    es = PLANNER.plan("¿Qué funcionó en fascitis plantar tras fracaso de corticoides, sin usar PRP?")
    assert es.prior_treatments == ["corticosteroid"] and es.exclusions == ["prp"] and es.treatments == []
    en = PLANNER.plan("Tennis elbow that failed physiotherapy; steroid injection is contraindicated. What worked?")
    assert en.prior_treatments == ["physiotherapy"] and en.exclusions == ["corticosteroid"] and en.treatments == []
    both = PLANNER.plan("¿Qué funcionó al año en coxartrosis sin corticoides ni PRP?")
    assert both.exclusions == ["corticosteroid", "prp"] and both.time_points == [12.0]


def test_scales_and_conditions_outside_the_vocabulary_are_named() -> None:
    plan = PLANNER.plan("IKDC after PRP in patellar tendinopathy at 6 months")
    assert plan.unrecorded_measures == ["IKDC"] and plan.measures == []
    frozen = PLANNER.plan("¿Qué funcionó en hombro congelado?")
    assert frozen.conditions == [] and frozen.unknown_conditions == ["adhesive_capsulitis"]
    assert frozen.intent == "what_worked"  # answerable in form: the answer says no case holds it


def test_profile_ranges_and_a_described_patient() -> None:
    group = PLANNER.plan("How many women aged 60 or over with knee OA grade 3 received PRP?")
    assert (group.profile.sex, group.profile.age_min, group.profile.severity) == ("F", 60, 3)
    assert not group.profile.single_patient
    one = PLANNER.plan("Varón de 45 años con epicondilitis lateral derecha de 6 meses, EVA 7. ¿Qué tratamiento "
                       "dio mejores resultados a los 12 meses?")
    assert (one.profile.age, one.profile.sex, one.profile.side) == (45, "M", "right")
    assert one.profile.single_patient and one.profile.duration_months == 6.0 and one.time_points == [12.0]
    ranged = PLANNER.plan("Pacientes con gonartrosis entre 50 y 69 años tratados con 3 infiltraciones de ácido "
                          "hialurónico: EVA al año")
    assert (ranged.profile.age_min, ranged.profile.age_max, ranged.sessions) == (50, 69, 3)
    assert ranged.time_points == [12.0] and ranged.treatments == ["hyaluronic_acid"]


def test_vague_question_says_what_is_missing() -> None:
    plan = PLANNER.plan("¿Qué tratamiento es mejor para una mujer de 60 años?")
    assert plan.intent == "too_vague" and "condition" in plan.missing


def _general_planner() -> RulesPlanner:
    from casewise.general_terms import general_vocabulary
    from casewise.vocabulary import BUILTIN

    return RulesPlanner(BUILTIN, general_vocabulary(BUILTIN))


@pytest.mark.parametrize(("question", "conditions", "treatments"), [
    # conditions and operations of the general terms extraction reads notes with, where the clinic's own name none; a
    # drug named as background is no arm
    ("Outcomes of carpal tunnel release?", ["carpal_tunnel_syndrome"], ["carpal_tunnel_release"]),
    ("What worked for gout?", ["gout"], []),
    ("¿Qué funcionó en la artritis reumatoide?", ["rheumatoid_arthritis"], []),
    ("Complications after total knee arthroplasty?", [], ["total_knee_arthroplasty"]),
    ("62-year-old man with knee osteoarthritis, VAS 7/10 despite NSAIDs. What worked?", ["knee_oa"], []),
    # the clinic's own terms win: no general 'osteoarthritis' beside knee_oa, no other drug beside PRP
    ("What worked for patients with knee osteoarthritis?", ["knee_oa"], []),
    ("¿Cuántos pacientes con gonartrosis recibieron PRP?", ["knee_oa"], ["prp"]),
])
def test_the_general_terms_extraction_used_are_read_in_questions(question: str, conditions: list[str],
                                                                 treatments: list[str]) -> None:
    plan = _general_planner().plan(question)
    assert (plan.condition_ids, plan.treatments, plan.unknown_conditions) == (conditions, treatments, [])


@pytest.mark.parametrize(("question", "unknown"), [
    ("What worked for medial epicondylitis?", "medial_epicondylitis"),
    ("¿Qué funcionó en la epicondilitis medial?", "medial_epicondylitis"),
    ("What worked for ankle osteoarthritis?", "ankle_oa"),
    ("Ankle sprain: what worked?", "ankle_sprain"),
])
def test_a_more_specific_condition_is_not_read_as_the_clinics_own_or_a_coarser_one(question: str, unknown: str
                                                                                   ) -> None:
    """Golfer's elbow is not tennis elbow: reading it as lateral epicondylitis would show another condition's
    cases as evidence; nor is an ankle sprain every 'sprain' of the general terms."""
    for planner in (PLANNER, _general_planner()):
        plan = planner.plan(question)
        assert (plan.condition_ids, plan.unknown_conditions) == ([], [unknown])
