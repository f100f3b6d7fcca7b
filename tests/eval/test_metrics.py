"""Every evaluation metric on small cases worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    KnownIdentifier,
    abstention_rate,
    citation_validity,
    latency_summary,
    leak_check,
    mean,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    recall_curve,
    reciprocal_rank,
)

RANKING = ["A", "X", "B", "Y", "C"]
RELEVANT = {"A", "B", "C", "D"}


def test_recall_at_k_counts_relevant_cases_found_in_the_top_k() -> None:
    assert recall_at_k(RANKING, RELEVANT, 1) == 0.25  # A of {A,B,C,D}
    assert recall_at_k(RANKING, RELEVANT, 3) == 0.5   # A, B
    assert recall_at_k(RANKING, RELEVANT, 10) == 0.75  # A, B, C; D never returned
    assert recall_at_k(RANKING, set(), 3) is None      # nothing to find: no score rather than a fake 0 or 1


def test_precision_at_k() -> None:
    assert precision_at_k(RANKING, RELEVANT, 3) == pytest.approx(2 / 3)
    assert precision_at_k(["A"], RELEVANT, 10) == 1.0  # over what was returned
    assert precision_at_k([], RELEVANT, 10) is None


def test_ndcg_at_k_by_hand() -> None:
    # DCG@3 = 1/log2(2) + 0 + 1/log2(4) = 1.5; ideal DCG@3 = 1 + 1/log2(3) + 1/log2(4) = 2.1309298
    assert ndcg_at_k(RANKING, RELEVANT, 3) == pytest.approx(1.5 / (1.5 + 1 / math.log2(3)))
    assert ndcg_at_k(["A", "B", "C", "D"], RELEVANT, 4) == pytest.approx(1.0)
    assert ndcg_at_k(["X", "Y"], RELEVANT, 2) == 0.0
    # graded gains: B (2) at rank 1, A (1) at rank 2 vs ideal B, A: perfect
    assert ndcg_at_k(["B", "A"], {"A": 1.0, "B": 2.0}, 2) == pytest.approx(1.0)
    # A case listed twice earns once: DCG = 1, ideal (2 relevant) = 1 + 1/log2(3)
    assert ndcg_at_k(["A", "A"], {"A", "B"}, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["X", "Y", "B"], RELEVANT) == pytest.approx(1 / 3)
    assert reciprocal_rank(["X", "Y"], RELEVANT) == 0.0
    assert reciprocal_rank(["X"], set()) is None


def test_recall_curve_means_over_questions_with_relevant_cases() -> None:
    curve = recall_curve([RANKING, ["B", "A"], ["Z"]], [RELEVANT, {"A"}, set()], [1, 3])
    # k=1: (0.25 + 0) / 2; k=3: (0.5 + 1) / 2 ; the third question has no relevant case and is left out
    assert curve == {1: pytest.approx(0.125), 3: pytest.approx(0.75)}


def test_citation_validity_counts_each_cited_case_once() -> None:
    assert citation_validity(["A", "A", "Z"], {"A", "B"}) == 0.5  # A valid, Z never retrieved
    assert citation_validity(["A", "B"], {"A", "B"}) == 1.0
    assert citation_validity([], {"A"}) is None


def test_abstention_rate() -> None:
    assert abstention_rate([True, False, False, False]) == 0.25
    assert abstention_rate([]) is None


def test_mean_skips_missing_values_and_latency_uses_interpolated_percentiles() -> None:
    assert mean([1.0, None, float("nan"), 0.0]) == 0.5
    assert mean([None]) is None
    lat = latency_summary([0.1, 0.2, 0.3, 0.4])
    # p50 between 200 and 300 ms; p95 at rank 2.85 -> 300 + 0.85 * 100
    assert lat == {"mean_ms": pytest.approx(250.0), "p50_ms": pytest.approx(250.0), "p95_ms": pytest.approx(385.0)}


def test_leak_check_finds_identifiers_in_stored_text_and_respects_word_edges() -> None:
    texts = [("PT-1", "Paciente [NOMBRE_AB12] acude el 12/03/2024; NHC PT-1."),
             ("PT-2", "Control de IGNACIO  Ferrer,\ntel 600 111 222, historia 912345."),
             (None, "Nota sin paciente: Dña. Núria Vidal llamó.")]
    known = [KnownIdentifier("patient_name", "Ignacio Ferrer", "PT-1"),  # leaked into another case's text
             KnownIdentifier("patient_name", "Nuria Vidal", "PT-3"),     # accent-insensitive: leaked
             KnownIdentifier("phone", "600 111 222", "PT-2"),            # leaked
             KnownIdentifier("nhc", "1234", "PT-2"),                     # only inside 912345: not a leak
             KnownIdentifier("visit_date", "12/03/2024", "PT-2"),        # in PT-1's text only: not PT-2's date
             KnownIdentifier("visit_date", "12/03/2024", "PT-1"),        # PT-1's own date in PT-1's text: leaked
             KnownIdentifier("nhc", "12", "PT-2")]                       # too short to look for
    check = leak_check(texts, known, local_kinds={"visit_date"})
    assert check.texts_checked == 3
    assert check.checked == {"patient_name": 2, "phone": 1, "nhc": 1, "visit_date": 2}
    assert check.found == {"patient_name": 2, "phone": 1, "visit_date": 1}
    assert check.leaked == 4 and check.leak_rate == pytest.approx(4 / 6)
    assert check.recall_by_kind() == {"nhc": 1.0, "patient_name": 0.0, "phone": 0.0, "visit_date": 0.5}


def test_leak_check_is_clean_when_nothing_leaks() -> None:
    check = leak_check([("PT-1", "Paciente [NOMBRE_AB12], 55 años, PRP.")], [KnownIdentifier("patient_name", "Ana Gil")])
    assert check.leaked == 0 and check.leak_rate == 0.0 and check.recall_by_kind() == {"patient_name": 1.0}
