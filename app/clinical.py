"""Clinical use cases every front end (CLI, REST, chat, evaluation) calls: ask, ask_stream, similar, case.

The question is de-identified here and nowhere else, each use case is timed and audited here, once.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator

from app.runtime import Runtime
from casewise.errors import NothingIndexedError, RequestError
from casewise.general_terms import general_vocabulary
from casewise.lang import detect_language
from casewise.plan import Cohort, Condition, QuestionPlan
from casewise.types import Answer, Case, Citation, Evidence, Filters, Language, SimilarCase
from casewise.vocabulary import Vocabulary, load_vocabulary
from reasoning.evidence_answer import plan_answer, sections, understood_as
from retrieval.cohort import cohort_from_store, index_sentence_finder, nearest_cohort
from retrieval.evidence import build_evidence
from retrieval.plan import Planner, RulesPlanner

MAX_QUESTION_CHARS = 4000
# Intents whose answer is the cohort's numbers (exact counts, regimens, events): the model only ever rephrases them.
TABLE_INTENTS = frozenset({"count", "list", "regimen", "adverse_events"})
_PLANNERS: dict[int, tuple[Vocabulary, Planner]] = {}


def vocabulary(rt: Runtime) -> Vocabulary:
    """The clinic's vocabulary: the built-in terms with `extract.vocabulary_file` merged over them."""
    return load_vocabulary(rt.settings.extract.vocabulary_file)


def planner(rt: Runtime) -> Planner:
    """The question planner over the clinic's vocabulary: rules (built once per vocabulary), or the configured
    OpenAI-compatible model (retrieval.planner = llm) with the rules as its fallback."""
    vocab = vocabulary(rt)
    if rt.settings.retrieval.planner == "llm" and rt.settings.llm.backend == "openai" and rt.llm is not None:
        from retrieval.plan.llm import LLMPlanner

        return LLMPlanner(rt.llm, vocab, general=general_vocabulary(vocab))  # type: ignore[arg-type]
    cached = _PLANNERS.get(id(vocab))
    if cached is None or cached[0] is not vocab:
        cached = _PLANNERS[id(vocab)] = (vocab, RulesPlanner(vocab, general_vocabulary(vocab)))
    return cached[1]


def plan_question(rt: Runtime, text: str, language: Language | None = None) -> QuestionPlan:
    """How a question is understood (the plan holds vocabulary ids, numbers and the de-identified text only)."""
    return planner(rt).plan(text, language=language)


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


def _plan_filters(plan: QuestionPlan, filters: Filters | None) -> Filters | None:
    """Similar cases come from the asked condition only, unless the caller chose the diagnoses."""
    if not plan.conditions or (filters is not None and filters.diagnoses):
        return filters
    base = filters or Filters()
    return base.model_copy(update={"diagnoses": plan.condition_ids})


def ask_stream(rt: Runtime, question: str, *, filters: Filters | None = None, k: int | None = None,
               language: Language | None = None, actor: str = "cli") -> Iterator[str | Answer]:
    """Yield text deltas of the answer as they are produced, then the final checked Answer.

    The question is planned first: identifier requests are refused (and audited as refused) and too-vague ones get
    what is missing, before anything is searched; the rest run over every matching case (the cohort) and the most
    similar ones, and the answer says first what the records do not hold.
    """
    started = time.perf_counter()
    clean = clean_question(rt, question)
    lang: Language = language or detect_language(question)
    # Planned from the question as typed: the plan holds vocabulary ids and numbers only, and a scale or a condition
    # the de-identifier takes for a place or a name ('Oswestry', 'Constant') is still read as one.
    plan = plan_question(rt, question.strip(), lang).model_copy(update={"question": clean})
    answer: Answer | None = None
    if plan.intent in ("identifier_request", "too_vague"):
        answer = plan_answer(clean, lang, plan, None, Evidence(query=clean, cases=[], table=[], plan=plan))
        yield answer.text
        rt.store.audit(actor, "ask_refused" if answer.refused else "ask", query=clean, detail={
            "mode": "evidence", "intent": plan.intent, "refused": answer.refused, "identifiers": plan.identifiers,
            "abstained": True, "ms": round((time.perf_counter() - started) * 1000)})
        yield answer
        return
    require_indexed(rt)
    vocab = rt.retriever.vocab
    plan = _with_filters(plan, filters, vocab)
    sentences = index_sentence_finder(rt.index)
    cohort = cohort_from_store(plan, rt.store, vocab, sentences=sentences)
    cases, evidence = gather_evidence(rt, clean, filters=_plan_filters(plan, filters), k=k)
    evidence = _with_plan(evidence, plan, cohort, rt.settings.retrieval.min_cases)
    if cohort.n_cases == 0:
        evidence.nearest_cohort = nearest_cohort(plan, rt.store, vocab, sentences=sentences)
    llm = rt.llm if rt.settings.llm.backend != "none" else None
    # What the records lack is said first, in words Casewise controls: such an answer is written from the tables.
    if (cohort.n_cases == 0 or cohort.not_found or plan.intent in TABLE_INTENTS or llm is None
            or evidence.too_little_evidence):
        answer = plan_answer(clean, lang, plan, cohort, evidence, nearest=cases)
        if evidence.too_little_evidence and not answer.abstained:
            answer.flags.append("too_little_evidence")
            answer.abstained = True
        yield answer.text
    else:
        from reasoning.llm_answer import stream_answer_with_llm

        head = understood_as(plan.model_copy(update={"language": lang})) + "\n"
        yield head
        for item in stream_answer_with_llm(clean, lang, evidence, llm, rt.embedder, rt.settings.llm):
            if isinstance(item, Answer):
                answer = item.model_copy(update={"text": head + item.text, "plan": plan})
            else:
                yield item
        if plan.also and answer is not None:  # the model answered the first part; the others come from the tables
            answer = _with_parts(answer, plan, cohort, evidence, lang)
            yield answer.text[answer.text.rindex("\n\n"):]
    assert answer is not None
    shown = [] if cohort.n_cases == 0 else [c.case_id for c in cases]
    near = evidence.nearest_cohort.case_ids if evidence.nearest_cohort else []
    rt.store.audit(actor, "ask", query=clean, case_ids=list(dict.fromkeys(shown + cohort.case_ids + near)), detail={
        "mode": answer.mode, "model": answer.model, "cited": [c.case_id for c in answer.citations if c.valid],
        "abstained": answer.abstained, "intent": plan.intent, "cohort": cohort.n_cases,
        "not_found": [f"{n.kind}:{n.value}" for n in cohort.not_found],
        "index": rt.settings.index.collection, "embedding": rt.settings.embedding.model,
        "ms": round((time.perf_counter() - started) * 1000)})
    yield answer


def _with_parts(answer: Answer, plan: QuestionPlan, cohort: Cohort, evidence: Evidence, lang: Language) -> Answer:
    """The model's answer to the first part, then each further part of the question from the cohort tables."""
    lines, claims, cited = sections(plan, cohort, evidence, lang, list(plan.also), heading_from=0)
    known = {c.case_id for c in answer.citations}
    citations = answer.citations + [Citation(case_id=c) for c in cited if c not in known]
    return answer.model_copy(update={"text": answer.text.rstrip() + "\n\n" + "\n".join(lines),
                                     "claims": answer.claims + claims, "citations": citations})


def _with_filters(plan: QuestionPlan, filters: Filters | None, vocab: Vocabulary) -> QuestionPlan:
    """The caller's explicit filters (--diagnosis, --treatment, --sex; the API's `filters`) restrict the cohort as
    they restrict the similar cases: a diagnosis or treatment the question does not name, a sex for the group."""
    if filters is None:
        return plan
    update: dict[str, object] = {}
    if filters.diagnoses and not plan.conditions and not plan.unknown_conditions:
        ids = [d for d in (vocab.diagnosis_id(x) or x for x in filters.diagnoses) if vocab.icd10_of(d) is not None
               or any(t.id == d for t in vocab.diagnoses)]
        update["conditions"] = [Condition(id=d, icd10=vocab.icd10_of(d)) for d in dict.fromkeys(ids)]
    if filters.treatments and not plan.treatments:
        update["treatments"] = [t for t in dict.fromkeys(vocab.treatment_id(x) or x for x in filters.treatments)
                                if any(v.id == t for v in vocab.treatments)]
    if filters.sex:
        update["profile"] = plan.profile.model_copy(update={"sex": filters.sex, "single_patient": False})
    return plan.model_copy(update=update) if update else plan


def _with_plan(evidence: Evidence, plan: QuestionPlan, cohort: Cohort, min_cases: int) -> Evidence:
    """The similar-case evidence under the plan: nothing of another condition when the asked one has no case, no
    row of an excluded or already-failed treatment, and 'too little' judged on the whole cohort."""
    if cohort.n_cases == 0:
        return Evidence(query=evidence.query, cases=[], table=[], too_little_evidence=True, plan=plan, cohort=cohort,
                        note="no case in the records matches the question")
    drop = set(plan.exclusions) | set(plan.prior_treatments)
    table = [r for r in evidence.table if r.treatment not in drop]
    cases = evidence.cases
    if plan.conditions:
        cases = [c for c in cases if c.case is None or {d.name for d in c.case.diagnoses} & set(plan.condition_ids)]
    too_little = plan.intent not in TABLE_INTENTS and cohort.n_cases < min_cases
    return evidence.model_copy(update={"table": table, "cases": cases, "plan": plan, "cohort": cohort,
                                       "too_little_evidence": too_little})


def case(rt: Runtime, case_id: str, *, actor: str = "cli") -> Case | None:
    """One case by id (None when there is none); a read that finds it is audited."""
    found = rt.store.get_case(case_id)
    if found is not None:
        rt.store.audit(actor, "case", query=f"case:{case_id}", case_ids=[case_id])
    return found


def audit_aborted(rt: Runtime, question: str, actor: str, reason: str) -> None:
    """Answer text was delivered without the final Answer (a dropped stream): record that access."""
    rt.store.audit(actor, "ask_aborted", query=rt.deid.deidentify(question).text, detail={"reason": reason})
