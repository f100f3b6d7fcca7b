"""Cohort queries count and tabulate every matching case of the store, not the top-k: arms, medians per time
point, regimens, adverse events with their sentence, prior treatments, exclusions, and what the records lack."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

from casewise.store import Store
from casewise.types import Case, Diagnosis, Outcome, Treatment
from retrieval.cohort import cohort_from_store, run_cohort
from retrieval.plan import RulesPlanner

PLANNER = RulesPlanner()


def _case(cid: str, dx: str, tx: list[tuple[str, int | None, str | None]], vas: dict[str, dict[float, float]],
          sex: str = "F", band: str = "60-69", sev: str | None = None, ae: list[str] | None = None) -> Case:
    day = dt.date(2022, 1, 1)
    return Case(case_id=cid, sex=sex, age_band=band,  # type: ignore[arg-type]
                diagnoses=[Diagnosis(name=dx, severity=sev)],
                treatments=[Treatment(name=n, sessions=s, dose=d, date=day + dt.timedelta(days=200 * i))
                            for i, (n, s, d) in enumerate(tx)],
                outcomes=[Outcome(measure="VAS", value=v, months=m, treatment=t)
                          for t, pts in vas.items() for m, v in pts.items()],
                adverse_events=ae or [])


CASES = [
    _case("PT-1", "knee_oa", [("prp", 3, "4 ml")], {"prp": {0: 8, 3: 5, 6: 4}}, sev="KL2", ae=["post_injection_flare"]),
    _case("PT-2", "knee_oa", [("prp", 1, "5 ml")], {"prp": {0: 7, 3: 6, 6: 6}}, sex="M", sev="KL3"),
    _case("PT-3", "knee_oa", [("hyaluronic_acid", 3, "2 ml")], {"hyaluronic_acid": {0: 7, 3: 5}}, band="70-79", sev="KL2"),
    _case("PT-4", "knee_oa", [("corticosteroid", 1, "40 mg"), ("prp", 2, "4 ml")],
          {"corticosteroid": {0: 8, 6: 8}, "prp": {0: 8, 3: 4, 6: 3}}, sev="KL4"),
    _case("PT-5", "lateral_epicondylitis", [("prp", 1, "3 ml")], {"prp": {0: 7, 3: 2}}, band="40-49"),
]


def test_count_is_over_every_matching_case() -> None:
    c = run_cohort(PLANNER.plan("¿Cuántos pacientes con gonartrosis recibieron PRP?"), CASES)
    assert c.n_cases == 3 and c.case_ids == ["PT-1", "PT-2", "PT-4"] and c.total_cases == 5
    women = run_cohort(PLANNER.plan("How many women with knee OA were treated with PRP?"), CASES)
    assert women.case_ids == ["PT-1", "PT-4"]
    over70 = run_cohort(PLANNER.plan("How many knee OA patients aged 70 or over?"), CASES)
    assert over70.case_ids == ["PT-3"]


def test_compare_arms_per_time_point_with_median_and_mcid_share() -> None:
    c = run_cohort(PLANNER.plan("Compare PRP and hyaluronic acid in knee OA: VAS at 3 and 6 months"), CASES)
    prp, ha = c.arm("prp"), c.arm("hyaluronic_acid")
    assert prp is not None and ha is not None
    at3 = prp.stat("VAS", 3.0)
    assert at3 is not None and at3.n == 3 and at3.median_change == statistics.median([-3, -1, -4])
    assert at3.mcid_share == round(2 / 3, 2)  # -3 and -4 reach the 2-point MCID, -1 does not
    six = prp.stat("VAS", 6.0)
    assert six is not None and six.median_change == statistics.median([-4, -1, -5])
    assert ha.stat("VAS", 3.0) is not None and ha.stat("VAS", 6.0) is None
    assert [n.value for n in c.not_found] == []  # 6 months is recorded (for PRP)


def test_prior_failed_treatment_and_exclusions() -> None:
    after = run_cohort(PLANNER.plan("Knee OA after failed corticosteroid injection: what worked?"), CASES)
    assert after.case_ids == ["PT-4"] and [a.treatment for a in after.arms] == ["prp"]
    without = run_cohort(PLANNER.plan("What worked for knee OA, excluding corticosteroids?"), CASES)
    assert "PT-4" not in without.case_ids and all(a.treatment != "corticosteroid" for a in without.arms)


def test_regimen_and_adverse_events() -> None:
    c = run_cohort(PLANNER.plan("¿Qué dosis y cuántas sesiones de PRP se usaron en gonartrosis?"), CASES,
                   sentences=lambda ids: {"PT-1": [("post_injection_flare", "Dolor post-infiltración 48 h.")]})
    prp = c.arm("prp")
    assert prp is not None
    assert prp.regimen.sessions == {"1": 1, "2": 1, "3": 1} and prp.regimen.doses == {"4 ml": 2, "5 ml": 1}
    assert prp.regimen.median_sessions == 2.0
    assert prp.n_adverse == 1 and prp.adverse_events[0].case_id == "PT-1"
    assert prp.adverse_events[0].sentence == "Dolor post-infiltración 48 h."


def test_what_the_records_lack_is_listed() -> None:
    none = run_cohort(PLANNER.plan("¿Qué funcionó en hombro congelado?"), CASES)
    assert none.n_cases == 0 and [(n.kind, n.value) for n in none.not_found] == [("condition", "adhesive_capsulitis")]
    late = run_cohort(PLANNER.plan("PRP for knee OA: VAS at 24 months"), CASES)
    assert [(n.kind, n.value) for n in late.not_found] == [("time_point", "24")]
    scale = run_cohort(PLANNER.plan("IKDC after PRP in knee OA"), CASES)
    assert ("measure", "IKDC") in [(n.kind, n.value) for n in scale.not_found]
    untried = run_cohort(PLANNER.plan("BMAC for tennis elbow: what worked?"), CASES)
    assert untried.n_cases == 0 and ("treatment", "bmac") in [(n.kind, n.value) for n in untried.not_found]


def test_runs_over_the_sql_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    for case in CASES:
        store.save_case(case, "fp")
    c = cohort_from_store(PLANNER.plan("How many patients with knee osteoarthritis received PRP?"), store)
    assert c.n_cases == 3 and c.total_cases == 5
