"""Scoring of the SFT-vs-RAG harness on hand-written answers (real embedder), its summary, table and report.

The four-system run itself (real models) is in tests/reasoning/test_finetune_chain.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casewise.embedding import Embedder
from casewise.embedding.factory import get_embedder
from casewise.settings import EmbeddingSettings
from eval.compare import (
    SEMANTIC_MATCH,
    Comparison,
    HeldOutQuestion,
    System,
    score,
    stated_direction,
    summarize,
    table_text,
    to_report,
    write_outputs,
)

REFERENCE = ("Treatment: platelet-rich plasma (PRP) (3 session(s)). Outcome: VAS 7 → 3 at 6 months "
             "(-4, a clinically important improvement).\nAdverse events: none recorded.")
QUESTION = HeldOutQuestion(qid="q1", case_id="PT-HELDOUT001", language="en",
                           question="Woman aged 50-59 with knee osteoarthritis (left, KL2). baseline VAS 7. "
                                    "What was done and how did it turn out?",
                           reference=REFERENCE, treatments=["prp"], outcome="improved")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(EmbeddingSettings())


class _MockNamedModel:
    """Summaries read only the model's name; no generation happens in these tests."""

    model = "named-model"


SYSTEM = System("SFT", _MockNamedModel(), rag=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "direction"), [
    ("VAS fell from 7 to 3: a clear improvement.", "improved"),
    ("El dolor mejoró a los 6 meses.", "improved"),
    ("Sin mejoría clínicamente relevante tras el ácido hialurónico.", "unchanged"),
    ("There was no clinically important improvement; pain persisted.", "unchanged"),
    ("El dolor empeoró tras la infiltración.", "worse"),
    ("PRP was given in three sessions.", None),
])
def test_stated_direction_reads_the_first_claim_and_negations(text: str, direction: str | None) -> None:
    assert stated_direction(text) == direction


def test_the_recorded_course_scores_exact_and_semantic(embedder: Embedder) -> None:
    res = score(SYSTEM, QUESTION, REFERENCE, embedder)
    assert res.exact and res.treatment_match and res.outcome_match
    assert res.semantic is not None and res.semantic > 0.99


def test_wrong_treatment_or_wrong_outcome_is_not_exact(embedder: Embedder) -> None:
    wrong_tx = score(SYSTEM, QUESTION, "A corticosteroid injection was given; VAS improved from 7 to 3.", embedder)
    assert wrong_tx.first_treatment == "corticosteroid" and not wrong_tx.treatment_match and not wrong_tx.exact
    wrong_course = score(SYSTEM, QUESTION, "PRP was given; there was no clinically important change.", embedder)
    assert wrong_course.treatment_match and wrong_course.outcome_match is False and not wrong_course.exact
    unrelated = score(SYSTEM, QUESTION, "The capital of France is Paris.", embedder)
    assert unrelated.semantic is not None and unrelated.semantic < SEMANTIC_MATCH < (
        score(SYSTEM, QUESTION, REFERENCE, embedder).semantic or 0)


def test_summary_table_and_self_contained_report_mock_model(embedder: Embedder, tmp_path: Path) -> None:
    answers = [REFERENCE, "Hyaluronic acid; no change.", "PRP: pain improved (VAS 7 to 3)."]
    results = []
    for n, text in enumerate(answers, 1):
        r = score(SYSTEM, QUESTION, text, embedder)
        r.qid, r.seconds, r.completion_tokens = f"q{n}", 0.5 * n, 10 * n
        results.append(r)
    s = summarize(SYSTEM, results)
    assert s.n == 3 and s.exact == pytest.approx(2 / 3) and s.treatment_match == pytest.approx(2 / 3)
    assert s.latency_mean_ms == pytest.approx(1000.0) and s.completion_tokens_mean == pytest.approx(20.0)
    assert s.citation_validity is None  # not a RAG row
    c = Comparison(systems=[s], results=results, settings={"questions": 3})
    assert table_text(c).splitlines()[1].split()[:4] == ["SFT", "named-model", "3", "0.67"]
    report = to_report(c, run_id="compare-test")
    assert report.section("held_out") is not None and report.section("mcq") is None
    folder = write_outputs(c, tmp_path)
    html = (folder / "report.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html
    assert (tmp_path / "comparison.json").is_file()
