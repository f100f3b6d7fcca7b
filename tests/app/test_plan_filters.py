"""Explicit filters (CLI --diagnosis/--treatment/--sex, the API's `filters`) restrict the cohort like the question."""

from __future__ import annotations

from app.clinical import _with_filters
from casewise.types import Filters
from casewise.vocabulary import BUILTIN
from retrieval.cohort import run_cohort
from retrieval.plan import RulesPlanner
from tests.retrieval.test_plan_cohort import CASES


def test_filters_restrict_the_cohort() -> None:
    plan = RulesPlanner().plan("How many patients received PRP?")
    assert run_cohort(plan, CASES).n_cases == 4
    narrowed = _with_filters(plan, Filters(diagnoses=["knee_oa"], sex="F"), BUILTIN)
    assert narrowed.condition_ids == ["knee_oa"] and narrowed.profile.sex == "F"
    assert run_cohort(narrowed, CASES).case_ids == ["PT-1", "PT-4"]
    arm = _with_filters(RulesPlanner().plan("How many knee OA patients are there?"), Filters(treatments=["prp"]), BUILTIN)
    assert arm.treatments == ["prp"] and run_cohort(arm, CASES).n_cases == 3
