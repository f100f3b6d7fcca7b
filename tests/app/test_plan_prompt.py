"""The reasoning model receives the plan and the whole-store cohort numbers, not only the similar cases' excerpts."""

from __future__ import annotations

from casewise.types import Evidence
from reasoning.prompts import build_messages
from retrieval.cohort import run_cohort
from retrieval.plan import RulesPlanner
from tests.retrieval.test_plan_cohort import CASES


def test_prompt_carries_the_plan_and_the_cohort_table() -> None:
    plan = RulesPlanner().plan("Compare PRP and hyaluronic acid in knee OA: VAS at 3 months; IKDC too")
    cohort = run_cohort(plan, CASES)
    user = build_messages("q", "en", Evidence(query="q", cases=[], table=[], plan=plan, cohort=cohort))[1]["content"]
    assert '"treatments":["prp","hyaluronic_acid"]' in user and '"time_points":[3.0]' in user
    assert "Cohort (every matching case of the clinic): 4 of 5" in user
    assert "- prp: 3 cases; VAS 3m: median -3.0 (n=3, MCID 67%)" in user
    assert "NOT IN THE RECORDS: measure IKDC" in user
