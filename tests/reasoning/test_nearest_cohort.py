"""When no case has what was asked but the asked condition has cases, the answer says so first and then shows, as
the nearest recorded and not as what was asked, what that condition's cases received; never another condition."""

from __future__ import annotations

from casewise.store import Store
from casewise.types import Evidence
from reasoning.evidence_answer import plan_answer
from retrieval.cohort import cohort_from_store, nearest_cohort
from retrieval.plan import RulesPlanner

PLANNER = RulesPlanner()



def _answer(question: str, store: Store, lang: str = "en"):  # type: ignore[no-untyped-def]
    plan = PLANNER.plan(question)
    cohort = cohort_from_store(plan, store)
    near = nearest_cohort(plan, store) if cohort.n_cases == 0 else None
    evidence = Evidence(query=question, cases=[], table=[], plan=plan, cohort=cohort, nearest_cohort=near)
    return plan_answer(question, lang, plan, cohort, evidence)  # type: ignore[arg-type]


def test_an_untried_treatment_says_so_then_shows_what_the_condition_received(store: Store) -> None:
    answer = _answer("BMAC for tennis elbow: what worked?", store)
    lines = answer.text.splitlines()
    assert lines[1] == ("No case for lateral epicondylitis in the clinic's records received bone marrow aspirate "
                        "concentrate (BMAC).")
    assert lines[2].startswith("The nearest that is recorded, not what was asked: 1 case(s) of lateral epicondylitis")
    assert lines[3].startswith("- platelet-rich plasma (PRP): 1 case(s); VAS") and lines[3].endswith("[PT-5].")
    # VAS 7 -> 2 at 3 months in PT-5: the line carries the real change
    assert "-5" in lines[3]
    assert [c.case_id for c in answer.citations] == ["PT-5"], "only the asked condition's case is cited"
    assert answer.abstained and "not_found" in answer.flags


def test_after_a_failed_treatment_with_no_later_one_the_other_treatments_are_the_nearest(store: Store) -> None:
    answer = _answer("Knee OA after failed hyaluronic acid: what worked?", store)
    lines = answer.text.splitlines()
    assert lines[1] == ("No case of knee osteoarthritis in the clinic's records received another treatment after "
                        "hyaluronic acid.")
    assert lines[2].startswith("The nearest that is recorded, not what was asked:")
    arms = [line.split(":")[0] for line in lines[3:]]
    assert "- hyaluronic acid" not in arms, "the treatment that failed is not offered as what worked"
    assert set(arms) == {"- platelet-rich plasma (PRP)", "- corticosteroid"}
    assert "PT-5" not in {c.case_id for c in answer.citations}, "never another condition's case"


def test_a_condition_the_records_lack_has_no_nearest_cohort(store: Store) -> None:
    plan = PLANNER.plan("¿Qué funcionó con PRP en hombro congelado?")
    assert nearest_cohort(plan, store) is None
    answer = _answer("¿Qué funcionó con PRP en hombro congelado?", store, "es")
    assert not answer.citations and "Lo más cercano registrado" not in answer.text


def test_an_asked_treatment_none_got_after_the_failed_one_says_after_what(store: Store) -> None:
    answer = _answer("Knee OA patients who failed HA: did BMAC work?", store)
    lines = answer.text.splitlines()
    assert lines[1] == ("No case for knee osteoarthritis in the clinic's records received bone marrow aspirate "
                        "concentrate (BMAC) after hyaluronic acid."), "not 'never received BMAC'"
    assert lines[2].startswith("The nearest that is recorded, not what was asked:")
    assert "whether or not they received hyaluronic acid first" in lines[2]
