"""`casewise eval run`: ask every question of a set through the real pipeline and report how well it went.

Per question: the ranking of similar cases (recall@k, nDCG@k, MRR against the expected cases), the
answer (citation validity, abstention, Ragas metrics: with an LLM judge when `eval.judge` names one, else the
non-LLM ones, labelled so), and the latency. Then the leak scan of `eval.leaks` over everything stored, without
sampling: the synthetic clinic's known identifiers must not appear anywhere (a hit fails the command), and the
de-identifier's detectors are run again over the stored prose, their residual hits reported as counts per type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eval.leaks import leak_scan_section
from eval.metrics import (
    abstention_rate,
    citation_validity,
    latency_summary,
    mean,
    ndcg_at_k,
    recall_at_k,
    recall_curve,
    reciprocal_rank,
)
from eval.questions import EvalQuestion, QuestionSet
from eval.ragas_judge import METRIC_LABELS, RagasSample, RagasScorer
from eval.report.model import Chart, Highlight, Report, Section, Table, new_run_id, now_iso
from eval.report.render_util import format_value

if TYPE_CHECKING:
    from app.runtime import Runtime
    from casewise.types import Answer

log = logging.getLogger(__name__)

KIND = "run"
DEPTH_MIN = 20             # cases ranked per question for the recall@k curve
MAX_CONTEXT_CHARS = 1500   # per retrieved case sent to the judge
MAX_CONTEXTS_CHARS = 9000  # all contexts of one question: the Ragas prompt (~1.7k tokens) + 1024 out fit n_ctx 8192
ACTOR = "eval"


@dataclass
class QuestionOutcome:
    """What happened to one question."""

    question_id: str
    language: str
    expected: list[str]
    ranking: list[str]
    retrieved: list[str]
    cited: list[str]
    abstained: bool
    seconds: float
    retrieval_seconds: float
    treatment_order_ok: bool | None = None
    ragas: dict[str, float | None] = field(default_factory=dict)


def contexts_of(answer: Answer) -> list[str]:
    """The texts the answer was written from, as the judge sees them: the evidence table, then each case's excerpts."""
    ctx: list[str] = []
    ev = answer.evidence
    if ev.table:
        rows = []
        for row in ev.table:
            o = row.outcomes[0] if row.outcomes else None
            outcome = (f"{o.measure} median change {o.median_change:+.1f} at {o.months:g} months (n={o.n})"
                       if o else "no measured outcome")
            rows.append(f"{row.treatment}: {row.n_cases} case(s), {outcome}, adverse events {row.adverse_events} "
                        f"[{', '.join(row.case_ids)}]")
        ctx.append("Evidence table:\n" + "\n".join(rows))
    for c in ev.cases:
        text = " ".join(ch.text for ch in c.chunks)
        summary = c.case.summary if c.case and c.case.summary else ""
        ctx.append(f"[{c.case_id}] {summary} {text}".strip()[:MAX_CONTEXT_CHARS])
    out, total = [], 0
    for t in ctx:
        if total + len(t) > MAX_CONTEXTS_CHARS:
            break
        out.append(t)
        total += len(t)
    return out


def ask_questions(rt: Runtime, questions: Sequence[EvalQuestion], depth: int,
                  progress: Callable[[int, int], None] | None = None,
                  guard: Callable[[], AbstractContextManager[object]] = nullcontext,
                  ) -> tuple[list[QuestionOutcome], list[Answer]]:
    """Run each question through retrieval (ranked to `depth`) and the answer service, timing both.

    `guard` is entered around each question's use of the index (the server passes its index read lock).
    """
    from app import clinical as service
    from eval.metrics import ranking_ok

    # Load the models behind the first question now, so its latency is not the models' start-up.
    rt.embedder.embed_queries(["warm up"])
    rt.deid.deidentify("Paciente de prueba. Test patient.")
    outcomes, answers = [], []
    for i, q in enumerate(questions):
        with guard():
            t0 = time.perf_counter()
            similar = service.similar(rt, q.text, k=depth, actor=ACTOR)
            t1 = time.perf_counter()
            answer = service.ask(rt, q.text, language=q.language, actor=ACTOR)  # type: ignore[arg-type]
            t2 = time.perf_counter()
        order = [row.treatment for row in answer.evidence.table]
        outcomes.append(QuestionOutcome(
            question_id=q.question_id, language=answer.language, expected=list(q.expected_cases),
            ranking=[c.case_id for c in similar], retrieved=[c.case_id for c in answer.evidence.cases]  # the evidence: similar cases and the cohort counted
            + (answer.evidence.cohort.case_ids if answer.evidence.cohort else [])
            + (answer.evidence.nearest_cohort.case_ids if answer.evidence.nearest_cohort else []),
            cited=[c.case_id for c in answer.citations], abstained=answer.abstained, seconds=t2 - t1,
            retrieval_seconds=t1 - t0,
            treatment_order_ok=ranking_ok(order, q.expected_better, q.expected_worse)
            if q.expected_better and q.expected_worse else None))
        answers.append(answer)
        if progress:
            progress(i + 1, len(questions))
    return outcomes, answers


def run_eval(rt: Runtime, qset: QuestionSet, *, k: int | None = None, ragas_metrics: Sequence[str] | None = None,
             title: str | None = None,
             progress: Callable[[int, int], None] | None = None,
             guard: Callable[[], AbstractContextManager[object]] = nullcontext) -> Report:
    """Evaluate the configured pipeline on a question set; returns the report (not yet written).

    `guard` is entered around every read of the index; the Ragas judge runs outside it.
    """
    settings = rt.settings
    k = k or settings.eval.k
    depth = max(DEPTH_MIN, k)
    started = time.perf_counter()
    scorer = RagasScorer(settings.eval.judge, rt.embedder, ragas_metrics)
    scorer.check()
    outcomes, answers = ask_questions(rt, qset.questions, depth, progress, guard)
    stored = stored_case_ids(rt)
    expected_all = {c for o in outcomes for c in o.expected}
    absent = expected_all - stored
    foreign = bool(expected_all) and not expected_all & stored
    if not foreign:  # a case that is not in the index cannot be found: it leaves the relevant set (a note says so)
        for o in outcomes:
            o.expected = [c for c in o.expected if c in stored]
    samples = [RagasSample(question=q.text, response=a.text, contexts=contexts_of(a), retrieved_ids=o.ranking[:k],
                           reference_ids=o.expected, reference=q.reference())
               for q, a, o in zip(qset.questions, answers, outcomes, strict=True)]
    for o, scores in zip(outcomes, scorer.score(samples), strict=True):
        o.ragas = scores

    report = Report(run_id=new_run_id(KIND), kind=KIND, title=title or "Casewise evaluation", created_at=now_iso())
    chunks = rt.index.count() if rt.index.exists() else 0
    n = len(qset.questions)
    report.context = {
        "question set": f"{Path(qset.source).name} ({n} question{'s' if n != 1 else ''})",
        "index": f"{settings.index.backend}, {chunks} chunks, {rt.store.count_cases()} cases",
        "embedding model": settings.embedding.model,
        "answer model": "none (answers written from the evidence table)" if settings.llm.backend == "none"
        else f"{settings.llm.backend}: {settings.llm.model}",
        "Ragas": scorer.mode,
        "k": str(k),
    }
    if foreign:
        report.notes.append("None of the cases this question set expects is in this index, so the retrieval scores "
                            "are zero by construction: is this the index of the clinic the questions were written for?")
    elif absent:
        report.notes.append(f"{len(absent)} of the {len(expected_all)} cases this question set expects are not in "
                            f"this index (not indexed yet, or removed); the scores count only the "
                            f"{len(expected_all) - len(absent)} that are.")
    retrieval = report.add(retrieval_section(outcomes, k, depth))
    answers_s = report.add(answer_section(outcomes, scorer))
    latency = report.add(latency_section(outcomes))
    with guard():
        # Known identifiers only mean something for the clinic they were written for; otherwise re-run the detectors.
        truth = None if foreign else qset.ground_truth
        leak = report.add(leak_scan_section(rt, truth, stored))  # everything stored, no sample (eval/leaks.py)
    report.highlights = _highlights(k, retrieval, answers_s, latency, leak, scorer)
    report.context["duration"] = f"{time.perf_counter() - started:.0f} s"
    return report


def stored_case_ids(rt: Runtime) -> set[str]:
    """The case ids of every case in the store."""
    from sqlalchemy import select

    from casewise.store import CaseRow

    with rt.store.session() as s:
        return set(s.scalars(select(CaseRow.case_id)))


# -- sections ----------------------------------------------------------------------------------------------------
def retrieval_section(outcomes: Sequence[QuestionOutcome], k: int, depth: int) -> Section:
    judged = [o for o in outcomes if o.expected]
    rel = [set(o.expected) for o in judged]
    s = Section(key="retrieval", title="Finding similar past cases",
                note=f"For each question, the {depth} most similar cases were ranked and compared with the cases the "
                     f"question set expects ({len(judged)} of {len(outcomes)} questions name expected cases).")
    s.metrics = {
        f"recall@{k}": mean(recall_at_k(o.ranking, r, k) for o, r in zip(judged, rel, strict=True)),
        f"ndcg@{k}": mean(ndcg_at_k(o.ranking, r, k) for o, r in zip(judged, rel, strict=True)),
        "mrr": mean(reciprocal_rank(o.ranking, r) for o, r in zip(judged, rel, strict=True)),
    }
    order = [o.treatment_order_ok for o in outcomes if o.treatment_order_ok is not None]
    if order:
        s.metrics["treatment_order_accuracy"] = sum(order) / len(order)
    s.metrics["n_questions_judged"] = float(len(judged))
    s.labels = {f"recall@{k}": f"Recall@{k}", f"ndcg@{k}": f"nDCG@{k}", "mrr": "MRR (first relevant case)",
                "treatment_order_accuracy": "Treatments ranked as designed (better above worse)",
                "n_questions_judged": "Questions with expected cases"}
    if judged:
        ks = list(range(1, depth + 1))
        curve = recall_curve([o.ranking for o in judged], rel, ks)
        s.charts.append(Chart(kind="line", title="Recall@k: share of expected cases found in the first k",
                              x=ks, series={"recall@k": [curve[x] for x in ks]}, x_label="k (cases returned)",
                              y_label="recall"))
        s.charts.append(Chart(kind="bar", title=f"Per question: recall@{k} and nDCG@{k}",
                              x=[o.question_id for o in judged],
                              series={f"recall@{k}": [recall_at_k(o.ranking, r, k) for o, r in zip(judged, rel,
                                                                                                 strict=True)],
                                      f"nDCG@{k}": [ndcg_at_k(o.ranking, r, k) for o, r in zip(judged, rel,
                                                                                             strict=True)]}))
    s.tables.append(Table(
        title="Per question", columns=["question", "language", "expected cases", f"found in top {k}",
                                       f"recall@{k}", f"ndcg@{k}", "mrr", "treatment order as designed"],
        rows=[[o.question_id, o.language, len(o.expected), len(set(o.ranking[:k]) & set(o.expected)),
               recall_at_k(o.ranking, o.expected, k), ndcg_at_k(o.ranking, o.expected, k),
               reciprocal_rank(o.ranking, o.expected),
               "n/a" if o.treatment_order_ok is None else "yes" if o.treatment_order_ok else "no"] for o in outcomes]))
    return s


def answer_section(outcomes: Sequence[QuestionOutcome], scorer: RagasScorer) -> Section:
    s = Section(key="answers", title="Answers: grounded, cited, honest about weak evidence")
    s.metrics = {name: mean(o.ragas.get(name) for o in outcomes) for name in scorer.metrics}
    s.metrics["citation_validity"] = mean(citation_validity(o.cited, o.retrieved) for o in outcomes)
    s.metrics["abstention_rate"] = abstention_rate([o.abstained for o in outcomes])
    s.labels = {**METRIC_LABELS, "citation_validity": "Citation validity (cited cases that were in the evidence: retrieved or counted)",
                "abstention_rate": "Abstention rate (answered 'too little evidence')"}
    if scorer.uses_judge:
        s.note = f"Ragas metrics graded by an LLM judge ({scorer.mode.split('(', 1)[1].rstrip(')')})."
        failed = sum(scorer.errors.values())
        if failed:
            s.note += f" The judge gave no usable verdict {failed} time(s); those questions count as n/a."
    else:
        s.note = ("No judge is configured (eval.judge.backend = none): faithfulness, answer relevancy and the "
                  "LLM-graded context metrics were not computed. Shown instead: Ragas's non-LLM context precision "
                  "and recall, which compare the retrieved case ids with the expected ones.")
    validity = s.metrics["citation_validity"]
    s.status = "fail" if validity is not None and validity < 1.0 else "ok"
    ids = [o.question_id for o in outcomes]
    if scorer.uses_judge and "faithfulness" in scorer.metrics:
        s.charts.append(Chart(kind="bar", title="Per question: faithfulness (share of statements supported)", x=ids,
                              series={"faithfulness": [o.ragas.get("faithfulness") for o in outcomes]}))
    else:
        s.charts.append(Chart(
            kind="bar", title="Per question: context precision / recall by case id (non-LLM)", x=ids,
            series={"precision": [o.ragas.get("id_context_precision") for o in outcomes],
                    "recall": [o.ragas.get("id_context_recall") for o in outcomes]},
            note="Faithfulness per question appears here once a judge is configured (eval.judge)."))
    cols = ["question", "cited", "cited and retrieved", "abstained", *[METRIC_LABELS[m].split(" (")[0]
                                                                        for m in scorer.metrics]]
    s.tables.append(Table(title="Per question", columns=cols, rows=[
        [o.question_id, len(set(o.cited)), len(set(o.cited) & set(o.retrieved)), "yes" if o.abstained else "no",
         *[o.ragas.get(m) for m in scorer.metrics]] for o in outcomes]))
    return s


def latency_section(outcomes: Sequence[QuestionOutcome]) -> Section:
    answer = latency_summary([o.seconds for o in outcomes])
    search = latency_summary([o.retrieval_seconds for o in outcomes])
    s = Section(key="latency", title="Response time", metrics={
        "answer_p50_ms": answer["p50_ms"], "answer_p95_ms": answer["p95_ms"], "answer_mean_ms": answer["mean_ms"],
        "search_p50_ms": search["p50_ms"]},
        labels={"answer_p50_ms": "Answer, median", "answer_p95_ms": "Answer, 95th percentile",
                "answer_mean_ms": "Answer, mean",
                "search_p50_ms": f"Similar-case search alone ({DEPTH_MIN}+ cases with explanations), median"},
        lower_is_better=["answer_p50_ms", "answer_p95_ms", "answer_mean_ms", "search_p50_ms"],
        note="Wall-clock time per question on the machine that ran the evaluation; other work on it slows these down.")
    return s


def _highlights(k: int, retrieval: Section, answers: Section, latency: Section, leak: Section,
                scorer: RagasScorer) -> list[Highlight]:
    r = retrieval.metrics
    a = answers.metrics
    out = [Highlight(f"Recall@{k}", format_value("recall", r.get(f"recall@{k}")),
                     f"expected past cases found among the first {k}"),
           Highlight(f"nDCG@{k}", format_value("ndcg", r.get(f"ndcg@{k}")), "1 = expected cases ranked first")]
    if scorer.uses_judge and "faithfulness" in a:
        out.append(Highlight("Faithfulness", format_value("faithfulness", a.get("faithfulness")),
                             "answer statements supported by the records (Ragas)"))
    else:
        out.append(Highlight("Faithfulness", "needs a judge", "set eval.judge to grade answers with Ragas", "info"))
    validity = a.get("citation_validity")
    out.append(Highlight("Citation validity", format_value("citation_validity", validity),
                         "cited cases that were really retrieved",
                         "info" if validity is None else "ok" if validity >= 1.0 else "fail"))
    out.append(Highlight("Abstention rate", format_value("abstention_rate", a.get("abstention_rate")),
                         "questions answered with 'too little evidence'"))
    if leak.key == "leak" and "leak_rate" in leak.metrics:
        found = int(leak.metrics.get("identifiers_found") or 0)
        out.append(Highlight("Leak check", "pass" if found == 0 else f"FAIL: {found}",
                             f"known identifiers found in the index "
                             f"(of {int(leak.metrics['identifiers_checked'] or 0)})",
                             "ok" if found == 0 else "fail"))
    else:
        flagged = int(leak.metrics.get("texts_flagged") or 0)
        out.append(Highlight("Residual identifiers", "none" if flagged == 0 else f"{flagged} texts",
                             "detector hits in stored text (worth a look)", "ok" if flagged == 0 else "warn"))
    out.append(Highlight("Answer time", format_value("p50_ms", latency.metrics.get("answer_p50_ms")),
                         "median per question"))
    return out
