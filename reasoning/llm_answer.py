"""Answer a question with the reasoning model over retrieved evidence, then check what it cited.

The model sees the evidence table and the top cases, fenced and tagged with their ids. Its reply is split into
thinking and final response; the final response keeps only citations of retrieved cases, each cited claim is scored
against the cases it cites, and weak evidence or an unusable reply means abstaining with what was found.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

from casewise.embedding import Embedder
from casewise.lang import detect_language
from casewise.llm import LLM, LLMReply
from casewise.settings import LLMSettings
from casewise.types import Answer, Evidence, Language
from casewise.vocabulary import label
from reasoning.citations import SUPPORT_THRESHOLD, check_citations, remove_invalid_citations, stream_safe_prefix
from reasoning.evidence_answer import NOTICE  # one medical-use notice for every answer
from reasoning.output import final_so_far, parse_output, strip_echoed_fences
from reasoning.prompts import (
    MAX_CASES,
    SYSTEM_PROMPT,
    build_messages,
    case_texts,
    render_outcomes,
    suspected_injections,
)

log = logging.getLogger(__name__)

_TOO_LITTLE: dict[Language, str] = {
    "en": "The clinic's records hold too few similar cases to answer this reliably ({n} found). What was found:",
    "es": "Los registros de la clínica tienen muy pocos casos similares para responder con fiabilidad ({n} encontrados). "
          "Esto es lo que se encontró:",
}
_NO_FINAL: dict[Language, str] = {
    "en": "The model gave no usable final response{why}. What was found:",
    "es": "El modelo no dio una respuesta final utilizable{why}. Esto es lo que se encontró:",
}
_TRUNCATED_WHY: dict[Language, str] = {
    "en": " (it was cut off at llm.max_tokens={m}: raise it)",
    "es": " (se cortó en llm.max_tokens={m}: auméntelo)",
}
_NOTHING: dict[Language, str] = {"en": "no similar cases.", "es": "ningún caso similar."}


def _language(language: str, question: str) -> Language:
    return language if language in ("es", "en") else detect_language(question)  # type: ignore[return-value]


def found_summary(evidence: Evidence, language: Language, *, max_cases: int = MAX_CASES) -> str:
    """What retrieval found, one line per treatment row and per case, for an abstaining answer."""
    lines: list[str] = []
    for row in evidence.table:
        outs = "; ".join(f"{o.measure} {o.median_change:+g} ({o.months:g} m, n={o.n})" for o in row.outcomes)
        lines.append(f"- {label(row.treatment, language)}: n={row.n_cases}" + (f"; {outs}" if outs else "")
                     + (f" [{', '.join(row.case_ids)}]" if row.case_ids else ""))
    for sc in evidence.cases[:max_cases]:
        bits: list[str] = []
        if sc.case is not None:
            if sc.case.diagnoses:
                bits.append(", ".join(d.label or label(d.name, language) for d in sc.case.diagnoses))
            if sc.case.treatments:
                bits.append(", ".join(t.label or label(t.name, language) for t in sc.case.treatments))
            if sc.case.outcomes:
                bits.append(render_outcomes(sc.case.outcomes, language, several=len(sc.case.treatments) > 1))
        lines.append(f"- [{sc.case_id}] " + ("; ".join(bits) if bits else f"similarity {sc.similarity:.2f}"))
    return "\n".join(lines) if lines else _NOTHING[language]


def leaks_system_prompt(text: str, language: Language, *, shingle: int = 8) -> bool:
    """True when `text` repeats runs of the system prompt (a record asked the model to reveal it)."""
    words = re.findall(r"\w+", SYSTEM_PROMPT[language].lower())
    shingles = {" ".join(words[i:i + shingle]) for i in range(len(words) - shingle + 1)}
    got = re.findall(r"\w+", text.lower())
    hits = sum(" ".join(got[i:i + shingle]) in shingles for i in range(len(got) - shingle + 1))
    return hits >= 2


def _abstain(
    question: str, language: Language, evidence: Evidence, head: str, flags: list[str],
    *, thinking: str | None = None, model: str | None = None,
) -> Answer:
    text = head + "\n" + found_summary(evidence, language)
    if evidence.note:
        text += f"\n({evidence.note})"
    return Answer(
        question=question, language=language, text=text, thinking=thinking, evidence=evidence, mode="llm",
        model=model, abstained=True, flags=flags, notice=NOTICE[language],
    )


def _too_little(question: str, language: Language, evidence: Evidence) -> Answer:
    head = _TOO_LITTLE[language].format(n=len(evidence.cases))
    return _abstain(question, language, evidence, head, ["too_little_evidence"])


def finish_answer(
    question: str,
    language: Language,
    evidence: Evidence,
    reply: LLMReply,
    embedder: Embedder | None,
    settings: LLMSettings,
    *,
    judge: LLM | None = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> Answer:
    """Turn a model reply into a checked Answer (parse, drop invalid citations, score claims, abstain if unusable)."""
    parsed = parse_output(reply.text, reply.finish_reason)
    flags = list(parsed.flags)
    texts = case_texts(evidence, language)
    thinking = remove_invalid_citations(parsed.thinking, list(texts), language)[0] if parsed.thinking else None
    if not parsed.final.strip():
        why = _TRUNCATED_WHY[language].format(m=settings.max_tokens) if "truncated" in flags else ""
        return _abstain(question, language, evidence, _NO_FINAL[language].format(why=why), flags,
                        thinking=thinking, model=reply.model)
    final, echoed = strip_echoed_fences(parsed.final)
    if echoed:
        flags.append("echoed_prompt")
    check = check_citations(final, texts, embedder, language=language, threshold=threshold, judge=judge)
    flags += [f for f in check.flags if f not in flags]
    if leaks_system_prompt(check.text, language):
        flags.append("system_prompt_leak")
    tainted = suspected_injections(evidence)
    if tainted:
        flags.append("injection_suspected")
        log.warning("records of %d retrieved case(s) read as instructions to the model: %s", len(tainted), tainted)
    log.info(
        "llm answer: model=%s prompt_tokens=%s completion_tokens=%s cases=%d claims=%d flags=%s",
        reply.model, reply.prompt_tokens, reply.completion_tokens, len(evidence.cases), len(check.claims), flags,
    )
    return Answer(
        question=question,
        language=language,
        text=check.text,
        thinking=thinking,
        citations=[c for c in check.citations if c.valid],
        claims=check.claims,
        evidence=evidence,
        mode="llm",
        model=reply.model,
        abstained=False,
        flags=flags,
        notice=NOTICE[language],
    )


def answer_with_llm(
    question: str,
    language: str,
    evidence: Evidence,
    llm: LLM,
    embedder: Embedder | None,
    settings: LLMSettings,
    *,
    judge: LLM | None = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> Answer:
    """Ask `llm` about `evidence` in `language` ("es"/"en"), return the checked Answer (mode "llm").

    With too little evidence the model is not called: the answer abstains and lists what was found.
    Raises LLMError when the model server fails.
    """
    lang = _language(language, question)
    if evidence.too_little_evidence:
        return _too_little(question, lang, evidence)
    messages = build_messages(question, lang, evidence)
    t0 = time.perf_counter()
    reply = llm.complete(messages, max_tokens=settings.max_tokens, temperature=settings.temperature)
    log.info("llm call took %.2f s", time.perf_counter() - t0)
    return finish_answer(question, lang, evidence, reply, embedder, settings, judge=judge, threshold=threshold)


def stream_answer_with_llm(
    question: str,
    language: str,
    evidence: Evidence,
    llm: LLM,
    embedder: Embedder | None,
    settings: LLMSettings,
    *,
    judge: LLM | None = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> Iterator[str | Answer]:
    """Yield text deltas of the final response as they arrive, then the checked Answer.

    Thinking is never streamed. Deltas hold back unclosed brackets and half-written ids, and never carry an id
    that was not retrieved. Their concatenation equals `Answer.text` unless the reply changed shape mid-stream
    (then deltas stop early); the Answer, always last, is authoritative.
    """
    lang = _language(language, question)
    if evidence.too_little_evidence:
        answer = _too_little(question, lang, evidence)
        yield answer.text
        yield answer
        return
    valid = list(case_texts(evidence, lang))
    messages = build_messages(question, lang, evidence)
    stream = llm.stream(messages, max_tokens=settings.max_tokens, temperature=settings.temperature)
    acc: list[str] = []
    emitted = ""
    diverged = False
    for delta in stream:
        acc.append(delta)
        if diverged:
            continue
        preview = final_so_far("".join(acc))
        if preview is None:
            continue
        shown, _ = remove_invalid_citations(stream_safe_prefix(strip_echoed_fences(preview)[0]), valid, lang)
        if not shown.startswith(emitted):
            diverged = True
        elif len(shown) > len(emitted):
            yield shown[len(emitted):]
            emitted = shown
    reply = getattr(stream, "reply", None)
    if not isinstance(reply, LLMReply):
        reply = LLMReply(text="".join(acc), model=llm.model)
    answer = finish_answer(question, lang, evidence, reply, embedder, settings, judge=judge, threshold=threshold)
    if not diverged and answer.text.startswith(emitted) and len(answer.text) > len(emitted):
        yield answer.text[len(emitted):]
    yield answer
