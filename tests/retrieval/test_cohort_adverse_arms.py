"""An adverse event counts under the treatment it followed, not under every treatment of the patient."""

from __future__ import annotations

import datetime as dt

from casewise.types import AdverseEventLink, Case, Diagnosis, Treatment
from retrieval.cohort import run_cohort
from retrieval.plan import RulesPlanner

PLANNER = RulesPlanner()
DAY = dt.date(2022, 1, 1)


def _case(cid: str, treatments: list[str], links: list[tuple[str, str | None]] | None = None,
          events: list[str] | None = None) -> Case:
    return Case(case_id=cid, sex="F", age_band="60-69", diagnoses=[Diagnosis(name="knee_oa")],
                treatments=[Treatment(name=n, date=DAY + dt.timedelta(days=200 * i)) for i, n in enumerate(treatments)],
                adverse_events=events if events is not None else [n for n, _ in links or []],
                adverse_event_links=[AdverseEventLink(name=n, treatment=t) for n, t in links or []])


def _adverse(question: str, cases: list[Case]) -> dict[str, int]:
    cohort = run_cohort(PLANNER.plan(question, language="en"), cases)
    return {a.treatment: a.n_adverse for a in cohort.arms}


def test_an_event_after_one_treatment_is_not_counted_for_the_other() -> None:
    cases = [
        _case("PT-1", ["hyaluronic_acid", "prp"], [("post_injection_flare", "prp")]),
        _case("PT-2", ["hyaluronic_acid", "prp"], [("effusion", "hyaluronic_acid")]),
        _case("PT-3", ["hyaluronic_acid"], [("hematoma", "hyaluronic_acid")]),
        _case("PT-4", ["prp"]),
    ]
    assert _adverse("What adverse events followed hyaluronic acid in knee osteoarthritis?", cases) == {
        "hyaluronic_acid": 2}
    assert _adverse("What adverse events followed PRP in knee osteoarthritis?", cases) == {"prp": 1}


def test_each_event_is_listed_with_its_treatment() -> None:
    cases = [_case("PT-1", ["hyaluronic_acid", "prp"], [("post_injection_flare", "prp"), ("effusion", "hyaluronic_acid")])]
    cohort = run_cohort(PLANNER.plan("Complications of PRP in patients with knee OA", language="en"), cases)
    (arm,) = cohort.arms
    assert [(e.event, e.treatment) for e in arm.adverse_events] == [("post_injection_flare", "prp")]


def test_an_untied_event_is_shown_under_every_treatment_of_the_case() -> None:
    # no record says which treatment it followed: it is never hidden
    cases = [_case("PT-1", ["hyaluronic_acid", "prp"], [("hematoma", None)])]
    assert _adverse("What adverse events followed hyaluronic acid in knee osteoarthritis?", cases) == {
        "hyaluronic_acid": 1}
    assert _adverse("What adverse events followed PRP in knee osteoarthritis?", cases) == {"prp": 1}


def test_a_case_stored_before_links_still_counts_its_events() -> None:
    # a store indexed before events were tied: the case's only treatment takes its event
    cases = [_case("PT-1", ["prp"], events=["post_injection_flare"]), _case("PT-2", ["prp"])]
    assert _adverse("What adverse events followed PRP in knee osteoarthritis?", cases) == {"prp": 1}
