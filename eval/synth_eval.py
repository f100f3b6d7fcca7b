"""Retrieval and 'what worked' quality on the synthetic clinic's ground truth (its designed effects and questions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from casewise.types import Answer

if TYPE_CHECKING:
    from casewise.runtime import Runtime
    from eval.synth import GroundTruth


@dataclass
class QuestionResult:
    question_id: str
    language: str
    precision_at_k: float  # share of returned cases that match the question's profile
    ranking_ok: bool | None  # every expected-better treatment above every expected-worse one (None: not comparable)
    order: list[str] = field(default_factory=list)
    cited_valid: bool = True


@dataclass
class SynthReport:
    questions: list[QuestionResult]

    @property
    def mean_precision(self) -> float:
        return sum(q.precision_at_k for q in self.questions) / max(1, len(self.questions))

    @property
    def ranking_accuracy(self) -> float:
        judged = [q.ranking_ok for q in self.questions if q.ranking_ok is not None]
        return sum(judged) / max(1, len(judged))


def ranking_ok(order: list[str], better: list[str], worse: list[str]) -> bool | None:
    """True when each designed-better treatment found ranks above each designed-worse one found."""
    b = [order.index(t) for t in better if t in order]
    w = [order.index(t) for t in worse if t in order]
    if not b or not w:
        return None
    return max(b) < min(w) if len(b) == 1 else all(x < y for x in b for y in w)


def evaluate(rt: Runtime, truth: GroundTruth, k: int | None = None) -> SynthReport:
    from reasoning import service

    results = []
    for q in truth.questions:
        answer: Answer = service.ask(rt, q.text, k=k, language=q.language, actor="eval")  # type: ignore[arg-type]
        matching = {rt.deid.pseudonym(n.lstrip("0") or "0") for n in q.matching_nhcs}
        returned = [c.case_id for c in answer.evidence.cases]
        precision = sum(c in matching for c in returned) / max(1, len(returned))
        order = [row.treatment for row in answer.evidence.table]
        retrieved = set(returned)
        results.append(QuestionResult(
            question_id=q.question_id, language=q.language, precision_at_k=precision,
            ranking_ok=ranking_ok(order, q.expected_better, q.expected_worse), order=order,
            cited_valid=all(c.case_id in retrieved for c in answer.citations)))
    return SynthReport(results)
