"""The question suite's expected medians count only changes the records state: an outcome the synthetic clinic drew
but wrote in no document (empty `recorded_in`) is not something any reader of the records could know."""

from __future__ import annotations

import statistics
from typing import Any

from eval.question_suite import (
    TRUTH_MEASURE,
    build_suite,
    oracle_asker,
    report_text,
    run_suite,
    summarize,
    truth_cases,
    unstated_changes,
)


def _pseudonym(nhc: str) -> str:
    return f"PT-{nhc}"


def _with_recorded_in(truth: Any, places: Any) -> Any:
    """A copy of ``truth`` whose every outcome has ``recorded_in = places(patient, treatment, outcome)``."""
    patients = [p.model_copy(update={"treatments": [t.model_copy(update={"outcomes": [
        o.model_copy(update={"recorded_in": places(p, t, o)}) for o in t.outcomes]}) for t in p.treatments]})
        for p in truth.patients]
    return truth.model_copy(update={"patients": patients})


def _deltas(truth: Any, condition: str, treatment: str, measure: str, months: int, *, stated_only: bool) -> list[float]:
    out = []
    for p in truth.patients:
        if p.diagnosis.diagnosis_id != condition:
            continue
        for t in p.treatments:
            if t.treatment_id != treatment:
                continue
            values = {o.time_point_months: o for o in t.outcomes if o.measure == measure}
            base, later = values.get(0), values.get(months)
            if base and later and (not stated_only or (base.recorded_in and later.recorded_in)):
                out.append(later.value - base.value)
    return out


def test_medians_skip_changes_whose_values_no_record_states(ground_truth) -> None:  # type: ignore[no-untyped-def]
    everything = _with_recorded_in(ground_truth, lambda p, t, o: None)  # a ground truth from before recorded_in
    old = build_suite(everything, _pseudonym, per_template=2)
    # Every other 3-month VAS written nowhere; and one baseline inside some expected median written nowhere.
    q = next(q for q in old if q.kind == "compare" and any(k[1] == "VAS" and k[2] != 3 for k in q.medians))
    arm, _m, months = next(k for k in q.medians if k[1] == "VAS" and k[2] != 3)
    hidden_base = next(p for p in ground_truth.patients if p.diagnosis.diagnosis_id == q.plan["conditions"][0]
                       and p.treatments[0].treatment_id == arm and p.treatments[0].value("vas", int(months)) is not None)

    def places(p: Any, t: Any, o: Any) -> list[str]:
        if o.measure == "vas" and o.time_point_months == 3 and int(p.patient_id[1:]) % 2:
            return []
        if p is hidden_base and t is p.treatments[0] and o.measure == "vas" and o.time_point_months == 0:
            return []
        return ["notes/x.txt"]

    truth = _with_recorded_in(ground_truth, places)
    suite = build_suite(truth, _pseudonym, per_template=2)
    assert [q.text for q in suite] == [q.text for q in old]

    checked = changed = 0
    for q, o in zip(suite, old, strict=True):
        assert not o.unstated
        for (arm, measure, months), median in q.medians.items():
            cond = q.plan["conditions"][0]
            if q.kind in ("over_time_sessions", "worked_excl"):
                continue  # the same arithmetic over fewer courses or patients
            stated = _deltas(truth, cond, arm, TRUTH_MEASURE[measure], int(months), stated_only=True)
            assert median == round(statistics.median(stated), 2), (q.qid, arm, measure, months)
            every = _deltas(truth, cond, arm, TRUTH_MEASURE[measure], int(months), stated_only=False)
            assert o.medians[(arm, measure, months)] == round(statistics.median(every), 2)
            checked += 1
            changed += median != o.medians[(arm, measure, months)]
        # What is left out is exactly the changes in the medians' scope that lack a stated value.
        assert all(pid == hidden_base.patient_id or (m == "vas" and mo == 3) for pid, _i, m, mo in q.unstated)
    assert checked > 20 and changed > 0
    assert any(pid == hidden_base.patient_id and m == "vas" and mo != 3
               for q in suite for pid, _i, m, mo in q.unstated)

    # The oracle's cases hold only what the records state, so its medians still agree with the expected ones.
    results = run_suite(oracle_asker(truth_cases(truth, _pseudonym)), suite)
    s = summarize(results)
    assert s["checks"]["medians"]["rate"] == 1.0
    left = s["medians_unstated_changes_left_out"]
    assert left["changes"] == len(set().union(*(q.unstated for q in suite))) > 0
    assert f"leave out {left['changes']} ground-truth changes that no record states" in report_text(s)
    assert unstated_changes(truth) > left["changes"] // 2
    assert unstated_changes(everything) == 0


def test_the_generated_clinic_says_where_each_value_is_written(ground_truth) -> None:  # type: ignore[no-untyped-def]
    outcomes = [o for p in ground_truth.patients for t in p.treatments for o in t.outcomes]
    assert all(o.recorded_in is not None for o in outcomes)
    suite = build_suite(ground_truth, _pseudonym, per_template=2)
    s = summarize(run_suite(oracle_asker(truth_cases(ground_truth, _pseudonym)), suite))
    assert s["checks"]["medians"]["rate"] == 1.0
    assert s["medians_unstated_changes_left_out"]["changes"] <= unstated_changes(ground_truth)
