"""A referral asked about in the clinic's words ('derivados a COT', 'referred to orthopaedics') is the referral
treatment, so a count of referrals counts them instead of every case of the condition."""

from __future__ import annotations

import pytest

from retrieval.plan.rules import RulesPlanner


@pytest.mark.parametrize("question", [
    "¿Cuántos pacientes con gonartrosis fueron derivados a COT?",
    "¿Cuántas pacientes con gonartrosis fueron derivadas a cirugía?",
    "How many knee OA patients were referred to orthopaedics?",
])
def test_a_referral_question_counts_referrals(question: str) -> None:
    plan = RulesPlanner().plan(question)
    assert plan.intent == "count" and plan.treatments == ["surgery_referral"]
    assert [c.id for c in plan.conditions] == ["knee_oa"]
