"""Ask and similar: the operations every front end (CLI, REST, chat) calls. Auditing lives here, once."""

from __future__ import annotations

import time
from collections.abc import Iterator

from casewise.errors import RequestError
from casewise.lang import detect_language
from casewise.runtime import Runtime
from casewise.types import Answer, Filters, Language, SimilarCase
from reasoning.evidence_answer import evidence_answer
from retrieval.evidence import build_evidence
from retrieval.search import CaseRetriever

MAX_QUESTION_CHARS = 4000


def _clean_question(rt: Runtime, question: str, field: str = "question") -> str:
    question = (question or "").strip()
    if not question:
        raise RequestError(field, "is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise RequestError(field, f"is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    # A doctor may paste a note with identifiers: nothing identifying is searched, logged or sent to a model.
    return rt.deid.deidentify(question).text


def similar(rt: Runtime, description: str | None = None, *, case_id: str | None = None, filters: Filters | None = None,
            k: int | None = None, actor: str = "cli") -> list[SimilarCase]:
    retriever = CaseRetriever(rt.settings, rt.store, rt.index, rt.embedder)
    if case_id:
        results = retriever.similar_to_case(case_id, filters=filters, k=k)
        query = f"case:{case_id}"
    else:
        query = _clean_question(rt, description or "", "description")
        results = retriever.similar(query, filters=filters, k=k)
    rt.store.audit(actor, "similar", query=query, case_ids=[r.case_id for r in results])
    return results


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
    clean = _clean_question(rt, question)
    lang: Language = language or detect_language(question)
    retriever = CaseRetriever(rt.settings, rt.store, rt.index, rt.embedder)
    cases = retriever.similar(clean, filters=filters, k=k)
    evidence = build_evidence(clean, cases, rt.settings.retrieval, retriever.vocab)  # the clinic's terms too
    answer: Answer | None = None
    if rt.settings.llm.backend == "none" or evidence.too_little_evidence:
        answer = evidence_answer(clean, lang, evidence)
        yield answer.text
    else:
        from reasoning.llm import make_llm
        from reasoning.llm_answer import stream_answer_with_llm

        llm = make_llm(rt.settings.llm)
        for item in stream_answer_with_llm(clean, lang, evidence, llm, rt.embedder, rt.settings.llm):  # type: ignore[arg-type]  # not None: backend != none
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
