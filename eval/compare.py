"""Base vs base+RAG vs SFT vs SFT+RAG on the same held-out questions, plus MedQA/MedMCQA accuracy.

Held-out questions are the test split of the SFT data (`casewise finetune build-data`): each is a held-out
patient's presentation, and what that patient's record says was done and how it turned out is the reference.
Scores per answer:
- exact: the first treatment the answer names is one the case records, and the direction it states for the outcome
  (improved / unchanged / worse, first stated) is the recorded one (when the case has a follow-up);
- semantic: cosine between the answer and the reference response with the local embedder (>= SEMANTIC_MATCH);
- citation validity (RAG rows): share of cited case ids that were retrieved; abstention; latency; tokens.
The +RAG rows retrieve through app.clinical as every answer does (de-identify, similar cases, evidence
table, answer_with_llm with its citation check) and leave the held-out patient's own case out of the results:
otherwise RAG would read the answer from the very record it is tested on. Ragas metrics run only where a judge
is given (`judge=`, e.g. built on eval/ragas_judge.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.runtime import Runtime
    from casewise.embedding import Embedder
    from casewise.llm import LLM, LLMReply, Message
    from casewise.types import Answer
    from reasoning.finetune.data import SFTRow

SEMANTIC_MATCH = 0.75  # MiniLM cosine at which an answer says the same thing as the reference (checked by hand)
DEFAULT_MAX_TOKENS = 256
SYSTEM_NAMES = ("base", "base+RAG", "SFT", "SFT+RAG")

# A ragas hook: (question, answer, contexts) -> {metric: value}
Judge = Callable[[str, str, list[str]], dict[str, float]]

_DIRECTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("unchanged", re.compile(
        r"sin (?:cambios?|mejor[ií]a)|no (?:hubo )?(?:cambio|mejor[oó]|mejor[ií]a)|unchanged|"
        r"no (?:clinically (?:important |relevant |significant )?|significant |meaningful |real )?(?:change|improvement)|"
        r"did not (?:improve|change)|without (?:improvement|change)|sin cambio", re.IGNORECASE)),
    ("worse", re.compile(r"empeor|worse|deterior|aument[oó] (?:el|del) dolor|more pain", re.IGNORECASE)),
    ("improved", re.compile(r"mejor(?:[oó]|[ií]a|a\b|aron)|improv|better|reduc|disminu|alivi|relief|less pain",
                            re.IGNORECASE)),
)
_ABSTAIN = re.compile(
    r"\b(?:i (?:do not|don't) know|cannot (?:answer|determine|say)|not enough (?:information|evidence)|"
    r"insufficient (?:information|evidence)|no (?:puedo|es posible) (?:responder|determinar|saber)|"
    r"informaci[oó]n insuficiente|no hay (?:suficiente|datos suficientes))", re.IGNORECASE)


def stated_direction(text: str) -> str | None:
    """The outcome direction an answer states first (a negated improvement counts as 'unchanged'), or None."""
    hits = [(m.start(), name) for name, pat in _DIRECTIONS for m in [pat.search(text)] if m]
    return min(hits)[1] if hits else None


def first_treatment(text: str) -> str | None:
    from casewise.vocabulary import find_treatments

    found = find_treatments(text)
    return found[0] if found else None


@dataclass(frozen=True)
class HeldOutQuestion:
    qid: str
    case_id: str
    language: str
    question: str
    reference: str
    treatments: list[str]
    outcome: str | None


def held_out_questions(rows: Sequence[SFTRow], limit: int | None = None) -> list[HeldOutQuestion]:
    """Questions from the test split; the case id is kept to leave that case out of retrieval, never shown."""
    out = []
    for n, r in enumerate(rows[:limit] if limit else rows, 1):
        out.append(HeldOutQuestion(qid=f"q{n}", case_id=r.meta.case_id, language=r.meta.language, question=r.Question,
                                   reference=r.Response, treatments=list(r.meta.treatments), outcome=r.meta.outcome))
    return out


@dataclass
class System:
    """One row of the comparison: a model and whether it answers over retrieved cases."""

    name: str
    llm: LLM
    rag: bool


@dataclass
class QuestionResult:
    system: str
    qid: str
    answer: str
    first_treatment: str | None
    treatment_match: bool
    stated_outcome: str | None
    outcome_match: bool | None
    exact: bool
    semantic: float | None
    cited: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    citation_validity: float | None = None
    abstained: bool = False
    seconds: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    flags: list[str] = field(default_factory=list)
    ragas: dict[str, float] = field(default_factory=dict)


@dataclass
class SystemSummary:
    system: str
    model: str
    rag: bool
    n: int
    exact: float | None
    semantic_match: float | None
    semantic_mean: float | None
    treatment_match: float | None
    outcome_match: float | None
    citation_validity: float | None
    abstention: float | None
    latency_mean_ms: float | None
    latency_p95_ms: float | None
    prompt_tokens_mean: float | None
    completion_tokens_mean: float | None
    ragas: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Comparison:
    systems: list[SystemSummary]
    results: list[QuestionResult]
    mcq: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self, name: str) -> SystemSummary:
        return next(s for s in self.systems if s.system == name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Recorder:
    """Wraps an LLM to keep its last reply (tokens and the raw text with every citation, before any check)."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.model = inner.model
        self.last: LLMReply | None = None

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float,
                 response_format: dict[str, Any] | None = None) -> LLMReply:
        self.last = self.inner.complete(messages, max_tokens=max_tokens, temperature=temperature,
                                        response_format=response_format)
        return self.last

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> Any:
        return self.inner.stream(messages, max_tokens=max_tokens, temperature=temperature)


def rag_answer(rt: Runtime, llm: LLM, question: HeldOutQuestion, *, max_tokens: int,
               judge_llm: LLM | None = None) -> tuple[Answer, LLMReply | None]:
    """Answer over retrieved cases, the held-out case left out; the checked Answer and the raw reply (None: abstained
    before asking the model)."""
    from app import clinical
    from casewise.settings import LLMSettings
    from reasoning.llm_answer import answer_with_llm

    clean = clinical.clean_question(rt, question.question)
    _, evidence = clinical.gather_evidence(rt, clean, exclude={question.case_id})
    recorder = _Recorder(llm)
    settings = LLMSettings(max_tokens=max_tokens, temperature=0.0)
    answer = answer_with_llm(clean, question.language, evidence, recorder, rt.embedder, settings, judge=judge_llm)
    return answer, recorder.last


def _final_text(raw: str) -> str:
    from reasoning.output import parse_output

    parsed = parse_output(raw)
    return parsed.final.strip() or raw.strip()


def _cosine(embedder: Embedder, a: str, b: str) -> float | None:
    if not a.strip() or not b.strip():
        return None
    import numpy as np

    from casewise.settings import on_minilm_scale

    va, vb = np.asarray(embedder.embed_passages([a, b]), dtype=np.float64)
    den = float(np.linalg.norm(va) * np.linalg.norm(vb))
    # on MiniLM's scale, where SEMANTIC_MATCH was set by hand
    return round(on_minilm_scale(float(va @ vb) / den, embedder.name), 4) if den else None


def score(system: System, q: HeldOutQuestion, text: str, embedder: Embedder) -> QuestionResult:
    """Exact (treatment + outcome direction) and semantic match of one answer against the held-out record."""
    tx = first_treatment(text)
    direction = stated_direction(text)
    tx_ok = tx is not None and tx in q.treatments
    out_ok = None if q.outcome is None else direction == q.outcome
    return QuestionResult(system=system.name, qid=q.qid, answer=text, first_treatment=tx, treatment_match=tx_ok,
                          stated_outcome=direction, outcome_match=out_ok, exact=tx_ok and out_ok is not False,
                          semantic=_cosine(embedder, text, q.reference))


def run_system(system: System, questions: Sequence[HeldOutQuestion], *, rt: Runtime | None, embedder: Embedder,
               max_tokens: int = DEFAULT_MAX_TOKENS, judge: Judge | None = None) -> list[QuestionResult]:
    """Answer every question with one system and score each answer."""
    from eval.metrics import citation_validity
    from reasoning.citations import ID_RE
    from reasoning.prompts import case_texts

    results = []
    for q in questions:
        started = time.perf_counter()
        if system.rag:
            if rt is None:
                raise ValueError(f"system {system.name!r} needs an indexed Runtime for retrieval")
            answer, reply = rag_answer(rt, system.llm, q, max_tokens=max_tokens)
            seconds = time.perf_counter() - started
            res = score(system, q, answer.text, embedder)
            retrieved = [c.case_id for c in answer.evidence.cases]
            cited = list(dict.fromkeys(ID_RE.findall(_final_text(reply.text)))) if reply else []
            res.retrieved, res.cited = retrieved, cited
            res.citation_validity = citation_validity(cited, set(retrieved))
            res.abstained, res.flags = answer.abstained, list(answer.flags)
            if judge is not None and not answer.abstained:
                res.ragas = judge(q.question, answer.text, list(case_texts(answer.evidence, answer.language).values()))
        else:
            reply = system.llm.complete([{"role": "user", "content": q.question}], max_tokens=max_tokens,
                                        temperature=0.0)
            seconds = time.perf_counter() - started
            text = _final_text(reply.text)
            res = score(system, q, text, embedder)
            res.abstained = bool(_ABSTAIN.search(text)) or not text.strip()
        if reply is not None:
            res.prompt_tokens, res.completion_tokens = reply.prompt_tokens, reply.completion_tokens
        res.seconds = round(seconds, 3)
        results.append(res)
    return results


def summarize(system: System, results: Sequence[QuestionResult]) -> SystemSummary:
    from eval.metrics import latency_summary, mean

    def rate(values: Sequence[bool | None]) -> float | None:
        xs = [v for v in values if v is not None]
        return sum(xs) / len(xs) if xs else None

    lat = latency_summary([r.seconds for r in results])
    metrics = sorted({m for r in results for m in r.ragas})
    return SystemSummary(
        system=system.name, model=system.llm.model, rag=system.rag, n=len(results),
        exact=rate([r.exact for r in results]),
        semantic_match=rate([None if r.semantic is None else r.semantic >= SEMANTIC_MATCH for r in results]),
        semantic_mean=mean(r.semantic for r in results),
        treatment_match=rate([r.treatment_match for r in results]),
        outcome_match=rate([r.outcome_match for r in results]),
        citation_validity=mean(r.citation_validity for r in results) if system.rag else None,
        abstention=rate([r.abstained for r in results]),
        latency_mean_ms=lat["mean_ms"], latency_p95_ms=lat["p95_ms"],
        prompt_tokens_mean=mean(r.prompt_tokens for r in results),
        completion_tokens_mean=mean(r.completion_tokens for r in results),
        ragas={m: mean(r.ragas.get(m) for r in results) for m in metrics},
    )


def compare(systems: Sequence[System], questions: Sequence[HeldOutQuestion], *, rt: Runtime | None,
            embedder: Embedder, max_tokens: int = DEFAULT_MAX_TOKENS, judge: Judge | None = None,
            mcq_sets: Sequence[tuple[str, Sequence[Any]]] = (), mcq_max_tokens: int | None = None) -> Comparison:
    """Every system on every held-out question (and on every MCQ set given as (name, items))."""
    from eval.mcq import MCQ_MAX_TOKENS, evaluate_mcq

    results: list[QuestionResult] = []
    summaries = []
    for system in systems:
        rows = run_system(system, questions, rt=rt, embedder=embedder, max_tokens=max_tokens, judge=judge)
        results += rows
        summaries.append(summarize(system, rows))
    mcq = []
    for name, items in mcq_sets:
        for system in systems:
            if system.rag:
                continue  # the clinic's cases hold nothing about board-exam questions
            res = evaluate_mcq(system.llm, items, max_tokens=mcq_max_tokens or MCQ_MAX_TOKENS, source=name)
            mcq.append({"set": name, "system": system.name, "model": res.model, "n": res.n, "accuracy": res.accuracy,
                        "unanswered": res.unanswered})
    return Comparison(systems=summaries, results=results, mcq=mcq,
                      settings={"questions": len(questions), "max_tokens": max_tokens,
                                "semantic_match": SEMANTIC_MATCH, "judge": judge is not None})


# --------------------------------------------------------------------------- output

TABLE_COLUMNS = ("system", "model", "n", "exact", "semantic_match", "semantic_mean", "citation_validity",
                 "abstention", "latency_mean_ms", "completion_tokens_mean")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def table_text(c: Comparison) -> str:
    """A plain-text table, one row per system."""
    rows = [list(TABLE_COLUMNS)] + [[_fmt(getattr(s, col)) for col in TABLE_COLUMNS] for s in c.systems]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    for m in c.mcq:
        lines.append(f"{m['set']} {m['system']}: accuracy {_fmt(m['accuracy'])} on {m['n']} "
                     f"({m['unanswered']} unanswered)")
    return "\n".join(lines)


def to_report(c: Comparison, run_id: str | None = None) -> Any:
    """The comparison as an eval.report Report (self-contained HTML with plots, JSON, Markdown)."""
    from eval.report import Chart, Report, Section, Table, new_run_id, now_iso

    report = Report(run_id=run_id or new_run_id("compare"), kind="compare",
                    title="Base vs RAG vs fine-tuned: held-out clinic questions", created_at=now_iso(),
                    context={k: str(v) for k, v in c.settings.items()})
    names = [s.system for s in c.systems]
    sec = Section(key="held_out", title="Held-out clinic questions", note=(
        "exact: first named treatment is the recorded one and the stated outcome direction matches; semantic: "
        f"embedder cosine to the recorded course >= {SEMANTIC_MATCH}. Citation validity only for RAG rows."),
        lower_is_better=["latency_mean_ms"])
    sec.tables.append(Table(columns=list(TABLE_COLUMNS),
                            rows=[[getattr(s, col) for col in TABLE_COLUMNS] for s in c.systems], title="Systems"))
    for metric in ("exact", "semantic_match", "citation_validity", "abstention"):
        sec.charts.append(Chart(kind="bar", title=metric.replace("_", " "), x=names,
                                series={metric: [getattr(s, metric) for s in c.systems]}, y_label="share"))
    sec.charts.append(Chart(kind="bar", title="latency (mean ms)", x=names,
                            series={"ms": [s.latency_mean_ms for s in c.systems]}, y_range=None))
    for s in c.systems:
        sec.metrics[f"{s.system}.exact"] = s.exact
        sec.metrics[f"{s.system}.semantic_match"] = s.semantic_match
    report.add(sec)
    if c.mcq:
        msec = Section(key="mcq", title="Multiple choice (first-match accuracy)")
        msec.tables.append(Table(columns=["set", "system", "model", "n", "accuracy", "unanswered"],
                                 rows=[[m[k] for k in ("set", "system", "model", "n", "accuracy", "unanswered")]
                                       for m in c.mcq]))
        sets = sorted({m["set"] for m in c.mcq})
        systems = list(dict.fromkeys(m["system"] for m in c.mcq))
        msec.charts.append(Chart(kind="bar", title="accuracy", x=systems, series={
            s: [next((m["accuracy"] for m in c.mcq if m["set"] == s and m["system"] == y), None) for y in systems]
            for s in sets}))
        for m in c.mcq:
            msec.metrics[f"{m['set']}.{m['system']}.accuracy"] = m["accuracy"]
        report.add(msec)
    return report


def write_outputs(c: Comparison, out_dir: Path) -> Path:
    """comparison.json (every answer scored) + the report folder (report.json, report.html, summary.md)."""
    from eval.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.json").write_text(json.dumps(c.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return write_report(to_report(c), out_dir)


def system_llm(spec: str, *, max_tokens: int, timeout_s: float) -> LLM:
    """`MODEL@URL` (an OpenAI-compatible server: vLLM, llama.cpp) or `local:BASE[+ADAPTER_DIR]` (transformers)."""
    from casewise.errors import ConfigError
    from casewise.llm import OpenAICompatibleLLM
    from casewise.settings import LLMSettings

    if spec.startswith("local:"):
        from reasoning.finetune.local_llm import LocalLLM

        base, _, adapter = spec[len("local:"):].partition("+")
        return LocalLLM(base, Path(adapter) if adapter else None)
    model, sep, url = spec.rpartition("@")
    if not sep or not model or not url.startswith("http"):
        raise ConfigError(f"system {spec!r}: use MODEL@http://host:port/v1 or local:BASE[+ADAPTER_DIR]")
    return OpenAICompatibleLLM(LLMSettings(backend="openai", base_url=url, model=model, max_tokens=max_tokens,
                                           temperature=0.0, timeout_s=timeout_s, max_retries=1))
