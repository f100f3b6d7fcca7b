"""Treatments a question says failed are prior treatments, not arms to compare: 'who failed HA and corticosteroid',
'que fracasaron con AH y corticoide'. Capital 'HA' is hyaluronic acid; the Spanish verb 'ha' is not."""

from __future__ import annotations

import pytest

from retrieval.plan.rules import RulesPlanner

PLANNER = RulesPlanner()


@pytest.mark.parametrize("question", [
    "Knee OA patients who failed HA and corticosteroid: did PRP work?",
    "Pacientes con gonartrosis que fracasaron con AH y corticoide, ¿funcionó el PRP?",
    "Gonartrosis que fallaron a ácido hialurónico y corticoides: ¿qué tal el PRP?",
])
def test_failed_treatments_are_prior_and_the_asked_one_is_the_arm(question: str) -> None:
    plan = PLANNER.plan(question)
    assert plan.prior_treatments == ["hyaluronic_acid", "corticosteroid"]
    assert plan.treatments == ["prp"], "the failed ones are not arms: they would rank first as 'what worked'"
    assert [c.id for c in plan.conditions] == ["knee_oa"]


def test_capital_ha_is_hyaluronic_acid_and_the_spanish_verb_is_not() -> None:
    assert PLANNER.plan("HA vs PRP in knee OA at 6 months?").treatments == ["hyaluronic_acid", "prp"]
    plan = PLANNER.plan("Mujer de 60 años con gonartrosis que ha recibido PRP, ¿qué tal le fue?")
    assert plan.treatments == ["prp"] and plan.prior_treatments == []
    assert PLANNER.plan("PATIENT WITH KNEE OA HA PAIN, WHAT WORKED?").treatments == [], \
        "a question all in capitals: 'HA' may be the verb"
