"""The question suite: at least 80 templates in Spanish and English over every intent, filled from a clinic's ground
truth with expected plans and numbers computed from that truth. The fast part here runs the planner and the cohort
logic over cases built from the ground truth (no indexing); `casewise eval questions` runs it end to end."""

from __future__ import annotations

from collections import Counter

from casewise.plan import INTENTS
from eval.question_suite import (
    TEMPLATES,
    build_suite,
    oracle_asker,
    run_suite,
    summarize,
    truth_cases,
)


def _pseudonym(nhc: str) -> str:
    return f"PT-{nhc}"


def test_templates_cover_every_intent_in_both_languages() -> None:
    assert len(TEMPLATES) >= 80
    seen = Counter((intent, lang) for _id, intent, lang, _kind, _text in TEMPLATES)
    for intent in INTENTS:
        assert seen[(intent, "es")] >= 2 and seen[(intent, "en")] >= 2, intent
    assert len({t[0] for t in TEMPLATES}) == len(TEMPLATES)


def test_expected_numbers_come_from_the_ground_truth(ground_truth) -> None:  # type: ignore[no-untyped-def]
    suite = build_suite(ground_truth, _pseudonym)
    q = next(q for q in suite if q.qid == "count-6")  # How many patients with {c} received {t}?
    cond, treatment = q.plan["conditions"][0], q.plan["treatments"][0]
    expected = [p for p in ground_truth.patients if p.diagnosis.diagnosis_id == cond
                and any(t.treatment_id == treatment for t in p.treatments)]
    assert q.count == len(expected) > 0
    assert q.case_ids == sorted(f"PT-{p.nhc.lstrip('0')}" for p in expected)


def test_planner_and_cohort_match_the_ground_truth(ground_truth) -> None:  # type: ignore[no-untyped-def]
    suite = build_suite(ground_truth, _pseudonym, per_template=2)
    assert len(suite) >= 80
    results = run_suite(oracle_asker(truth_cases(ground_truth, _pseudonym)), suite)
    s = summarize(results)
    assert not s["errors"]
    for field, per in s["plan_fields"].items():
        for lang in ("es", "en"):
            if lang in per:
                assert per[lang]["rate"] >= 0.95, (field, lang, per[lang])
    for check in ("count", "case_list", "medians", "sessions", "refused", "clarification", "says_not_found_first",
                  "no_off_condition_evidence"):
        assert s["checks"][check]["rate"] == 1.0, (check, s["checks"][check])
    assert s["numbers_exact"]["rate"] >= 0.95
