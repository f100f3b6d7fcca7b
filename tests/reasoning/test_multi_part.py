"""A question of several parts ("how many … and what adverse events?") gets every part answered over the same
cases, each later part under its own heading; a question of one part is read as before."""

from __future__ import annotations

import pytest

from app.clinical import _with_parts
from casewise.store import Store
from casewise.types import Answer, Citation, Evidence
from reasoning.evidence_answer import plan_answer
from retrieval.cohort import cohort_from_store
from retrieval.plan import RulesPlanner

PLANNER = RulesPlanner()



@pytest.mark.parametrize(("question", "intent", "also"), [
    ("¿Cuántos pacientes con gonartrosis recibieron PRP y qué efectos adversos tuvieron?", "count", ["adverse_events"]),
    ("¿Cuántos pacientes con gonartrosis recibieron PRP? ¿Y qué efectos adversos tuvieron?", "count",
     ["adverse_events"]),
    ("How many women with knee OA got PRP, and what adverse events did they have?", "count", ["adverse_events"]),
    ("What worked for knee OA and how many sessions were needed?", "what_worked", ["regimen"]),
    ("PRP en epicondilitis: ¿funcionó? ¿cuántos casos hay?", "what_worked", ["count"]),
    ("Compara PRP y ácido hialurónico en gonartrosis: EVA a los 3 y 6 meses, y cuántas sesiones se usaron", "compare",
     ["regimen"]),
    ("¿Qué funcionó en gonartrosis tras fracaso de ácido hialurónico, y hubo complicaciones?", "what_worked",
     ["adverse_events"]),
    ("What were the results and the complications of PRP in knee OA?", "what_worked", ["adverse_events"]),
    # one part each: a second clause that asks the same kind of thing, context before the question, a relative clause
    ("¿Qué dosis y cuántas sesiones de PRP se usaron en epicondilitis?", "regimen", []),
    ("Paciente de 60 años con gonartrosis, ¿qué funcionó?", "what_worked", []),
    ("¿Cuántos pacientes con tendinopatía rotuliana y que no mejoraron con fisioterapia recibieron PRP?", "count", []),
    ("Compare PRP vs corticosteroid for tennis elbow on VAS at 3, 6 and 12 months", "compare", []),
])
def test_every_part_of_the_question_is_read(question: str, intent: str, also: list[str]) -> None:
    plan = PLANNER.plan(question)
    assert (plan.intent, plan.also) == (intent, also)


def test_count_and_adverse_events_both_answered_over_the_same_cases(store: Store) -> None:
    question = "¿Cuántos pacientes con gonartrosis recibieron PRP y qué efectos adversos tuvieron?"
    plan = PLANNER.plan(question)
    cohort = cohort_from_store(plan, store)
    answer = plan_answer(question, "es", plan, cohort, Evidence(query=question, cases=[], table=[], plan=plan,
                                                               cohort=cohort))
    lines = answer.text.splitlines()
    assert lines[0].startswith("Entendido como: recuento + efectos adversos; artrosis de rodilla (M17)")
    # PT-1, PT-2 and PT-4 are the knee OA cases treated with PRP; only PT-1 had an adverse event
    assert lines[1].startswith("3 caso(s) (artrosis de rodilla) de 5 en los registros de la clínica [PT-1, PT-2, PT-4]")
    head = lines.index("Efectos adversos, por tratamiento:")
    assert head > 1, "the second part has its own heading after the count"
    after = "\n".join(lines[head:])
    assert "efectos adversos en 1 de 3 casos [PT-1]" in after
    assert "dolor tras la infiltración" in after
    assert {c.case_id for c in answer.citations} == {"PT-1", "PT-2", "PT-4"}


def test_what_worked_then_the_regimen(store: Store) -> None:
    question = "What worked for knee OA and how many sessions were needed?"
    plan = PLANNER.plan(question)
    cohort = cohort_from_store(plan, store)
    answer = plan_answer(question, "en", plan, cohort, Evidence(query=question, cases=[], table=[], plan=plan,
                                                               cohort=cohort))
    text = answer.text
    assert text.splitlines()[0].startswith("Understood as: what worked + regimen (dose and sessions)")
    first, second = text.split("\nRegimen (dose and sessions), per treatment:\n")
    assert "VAS" in first and "median change" in first, "the first part keeps its outcomes per treatment"
    # PRP sessions over PT-1 (3), PT-2 (1), PT-4 (2): one case each, median 2
    prp = next(line for line in second.splitlines() if line.startswith("- platelet-rich plasma (PRP)"))
    assert "1 session(s) ×1, 2 session(s) ×1, 3 session(s) ×1 (median 2)" in prp


def test_the_models_answer_to_the_first_part_is_followed_by_the_others_from_the_tables(store: Store) -> None:
    """The LLM path: the model's text stays first, the further part is appended from the cohort with its citations
    (the model's Answer is built here as the LLM path returns it; the function under test is the real one)."""
    question = "What worked for knee OA, and were there any complications?"
    plan = PLANNER.plan(question)
    assert (plan.intent, plan.also) == ("what_worked", ["adverse_events"])
    cohort = cohort_from_store(plan, store)
    evidence = Evidence(query=question, cases=[], table=[], plan=plan, cohort=cohort)
    model = Answer(question=question, language="en", text="PRP gave the largest VAS change [PT-4].",
                   citations=[Citation(case_id="PT-4")], evidence=evidence, mode="llm")
    answer = _with_parts(model, plan, cohort, evidence, "en")
    assert answer.text.startswith("PRP gave the largest VAS change [PT-4].\n\nAdverse events:\n")
    assert "- platelet-rich plasma (PRP): adverse events in 1 of 3 cases [PT-1]." in answer.text
    assert answer.citations[0].case_id == "PT-4" and "PT-1" in {c.case_id for c in answer.citations}


@pytest.mark.parametrize(("question", "lang", "line"), [
    ("¿Qué funcionó en la fibromialgia?", "es", "No hay ningún caso de fibromialgia en los registros de la clínica."),
    ("¿Qué funcionó en el hombro congelado?", "es",
     "No hay ningún caso de capsulitis adhesiva en los registros de la clínica."),
    ("What worked for medial epicondylitis?", "en", "The clinic's records hold no case of medial epicondylitis."),
])
def test_a_condition_the_records_lack_is_named_in_the_answers_language(store: Store, question: str, lang: str,
                                                                        line: str) -> None:
    plan = PLANNER.plan(question)
    cohort = cohort_from_store(plan, store)
    answer = plan_answer(question, lang, plan, cohort, Evidence(query=question, cases=[], table=[], plan=plan,  # type: ignore[arg-type]
                                                               cohort=cohort))
    assert answer.text.splitlines()[1] == line
