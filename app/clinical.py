"""Clinical use cases every front end (CLI, REST, chat, evaluation) calls: ask, ask_stream, similar, case.

The question is de-identified here and nowhere else, each use case is timed and audited here, once.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator

from app.runtime import Runtime
from casewise.errors import NothingIndexedError, RequestError
from casewise.lang import detect_language
from casewise.types import Answer, Case, Evidence, Filters, Language, SimilarCase
from reasoning.evidence_answer import evidence_answer
from retrieval.evidence import build_evidence

MAX_QUESTION_CHARS = 4000


def clean_question(rt: Runtime, question: str, field: str = "question") -> str:
    question = (question or "").strip()
    if not question:
        raise RequestError(field, "is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise RequestError(field, f"is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    # A doctor may paste a note with identifiers: nothing identifying is searched, logged or sent to a model.
    return rt.deid.deidentify(question).text


def require_indexed(rt: Runtime) -> None:
    """An index that holds nothing answers nothing: say so, and how to fill it, instead of an empty table."""
    if not rt.index.exists():
        raise NothingIndexedError(f"nothing is indexed yet in {rt.settings.data_dir}: run `casewise index FOLDER` "
                                  "with the clinic's records (or `casewise demo` for the bundled sample clinic)")


def similar(rt: Runtime, description: str | None = None, *, case_id: str | None = None, filters: Filters | None = None,
            k: int | None = None, actor: str = "cli") -> list[SimilarCase]:
    require_indexed(rt)
    retriever = rt.retriever
    if case_id:
        results = retriever.similar_to_case(case_id, filters=filters, k=k)
        query = f"case:{case_id}"
    else:
        query = clean_question(rt, description or "", "description")
        results = retriever.similar(query, filters=filters, k=k)
    rt.store.audit(actor, "similar", query=query, case_ids=[r.case_id for r in results])
    return results


def gather_evidence(rt: Runtime, clean: str, *, filters: Filters | None = None, k: int | None = None,
                    exclude: Collection[str] = ()) -> tuple[list[SimilarCase], Evidence]:
    """The most similar cases to a de-identified question and what was done for them (the evidence table).

    `exclude`: case ids left out (the evaluation's held-out patient), the other cases still `k` (default top_cases).
    """
    retriever = rt.retriever
    if exclude:
        want = k or rt.settings.retrieval.top_cases
        found = retriever.similar(clean, filters=filters, k=want + len(exclude))
        cases = [c for c in found if c.case_id not in exclude][:want]
    else:
        cases = retriever.similar(clean, filters=filters, k=k)
    return cases, build_evidence(clean, cases, rt.settings.retrieval, retriever.vocab)  # the clinic's terms too


def ask(rt: Runtime, question: str, *, filters: Filters | None = None, k: int | None = None,
        language: Language | None = None, actor: str = "cli") -> Answer:
    """Retrieve similar cases, tabulate what worked, and answer (with the LLM when one is configured)."""
    answer: Answer | None = None
    for item in ask_stream(rt, question, filters=filters, k=k, language=language, actor=actor):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


def ask_stream(rt: Runtime, question: str, *, filters: Filters | None = None, k: int | None = None,
               language: Language | None = None, actor: str = "cli") -> Iterator[str | Answer]:
    """Yield text deltas of the answer as they are produced, then the final checked Answer."""
    started = time.perf_counter()
    clean = clean_question(rt, question)
    require_indexed(rt)
    lang: Language = language or detect_language(question)
    cases, evidence = gather_evidence(rt, clean, filters=filters, k=k)
    answer: Answer | None = None
    llm = rt.llm if rt.settings.llm.backend != "none" else None
    if llm is None or evidence.too_little_evidence:
        answer = evidence_answer(clean, lang, evidence)
        yield answer.text
    else:
        from reasoning.llm_answer import stream_answer_with_llm

        for item in stream_answer_with_llm(clean, lang, evidence, llm, rt.embedder, rt.settings.llm):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
    assert answer is not None
    rt.store.audit(actor, "ask", query=clean, case_ids=[c.case_id for c in cases], detail={
        "mode": answer.mode, "model": answer.model, "cited": [c.case_id for c in answer.citations if c.valid],
        "abstained": answer.abstained, "index": rt.settings.index.collection, "embedding": rt.settings.embedding.model,
        "ms": round((time.perf_counter() - started) * 1000)})
    yield answer


def case(rt: Runtime, case_id: str, *, actor: str = "cli") -> Case | None:
    """One case by id (None when there is none); a read that finds it is audited."""
    found = rt.store.get_case(case_id)
    if found is not None:
        rt.store.audit(actor, "case", query=f"case:{case_id}", case_ids=[case_id])
    return found


def audit_aborted(rt: Runtime, question: str, actor: str, reason: str) -> None:
    """Answer text was delivered without the final Answer (a dropped stream): record that access."""
    rt.store.audit(actor, "ask_aborted", query=rt.deid.deidentify(question).text, detail={"reason": reason})
