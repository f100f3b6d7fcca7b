"""answer_with_llm end to end: abstention on thin evidence, unusable replies, and a real model's answer checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from casewise.embedding import Embedder
from casewise.llm import LLMReply, make_llm
from casewise.settings import LLMSettings
from casewise.types import Answer, Case, Evidence, Language, MatchedChunk, SimilarCase
from reasoning.citations import ID_RE
from reasoning.llm_answer import answer_with_llm, finish_answer, stream_answer_with_llm
from reasoning.prompts import build_messages
from tests.reasoning.reasoning_testdata import PRP_ID, RETRIEVED, closed_port_url, make_evidence

QUESTION = {"en": "What worked for a 55-year-old woman with knee osteoarthritis?",
            "es": "¿Qué funcionó en una mujer de 55 años con artrosis de rodilla?"}


def _unreachable_llm() -> object:
    """A real client pointed at a closed port: any call would raise LLMError."""
    return make_llm(LLMSettings(backend="openai", base_url=closed_port_url(), max_retries=0))


@pytest.mark.parametrize(("language", "phrase"), [("en", "too few similar cases"), ("es", "muy pocos casos similares")])
def test_too_little_evidence_abstains_without_calling_the_model(language: Language, phrase: str) -> None:
    evidence = make_evidence(too_little=True)
    answer = answer_with_llm(QUESTION[language], language, evidence, _unreachable_llm(), None,  # type: ignore[arg-type]
                             LLMSettings())
    assert answer.abstained and answer.mode == "llm" and answer.model is None
    assert phrase in answer.text
    assert PRP_ID in answer.text  # what was found is shown
    assert "too_little_evidence" in answer.flags
    assert answer.notice


def test_too_little_evidence_streams_the_abstention() -> None:
    items = list(stream_answer_with_llm(QUESTION["en"], "en", make_evidence(too_little=True), _unreachable_llm(),  # type: ignore[arg-type]
                                        None, LLMSettings()))
    assert isinstance(items[-1], Answer) and items[-1].abstained
    assert "".join(i for i in items[:-1] if isinstance(i, str)) == items[-1].text


def test_reply_cut_off_mid_thinking_abstains_and_says_which_setting(evidence: Evidence) -> None:
    reply = LLMReply(text="## Thinking\nCase PT-3F9A0C12DE improved from 7 to", model="m", finish_reason="length")
    answer = finish_answer(QUESTION["en"], "en", evidence, reply, None, LLMSettings(max_tokens=64))
    assert answer.abstained and "truncated" in answer.flags
    assert "llm.max_tokens=64" in answer.text
    assert answer.thinking and "improved from 7 to" in answer.thinking
    assert "## Thinking" not in answer.text


def test_reply_without_valid_citations_is_flagged(evidence: Evidence) -> None:
    reply = LLMReply(text="## Thinking\nx\n## Final Response\nPRP is best for everyone.", model="m", finish_reason="stop")
    answer = finish_answer(QUESTION["en"], "en", evidence, reply, None, LLMSettings())
    assert not answer.abstained and "no_valid_citations" in answer.flags
    assert answer.citations == []


def _assert_checked(answer: Answer) -> None:
    assert answer.mode == "llm" and answer.model == "smollm2" and answer.notice
    assert all(c.case_id in RETRIEVED and c.valid for c in answer.citations)
    assert all(m.group(0) in RETRIEVED for m in ID_RE.finditer(answer.text))
    assert all(set(c.case_ids) <= RETRIEVED for c in answer.claims)
    if not answer.abstained and not answer.citations:
        assert "no_valid_citations" in answer.flags


def test_real_model_answer_cites_only_retrieved_cases(
    evidence: Evidence, server_settings: LLMSettings, embedder: Embedder
) -> None:
    llm = make_llm(server_settings)
    assert llm is not None
    answer = answer_with_llm(QUESTION["en"], "en", evidence, llm, embedder, server_settings)
    _assert_checked(answer)


def test_real_model_streams_deltas_then_the_checked_answer(
    evidence: Evidence, server_settings: LLMSettings, embedder: Embedder
) -> None:
    llm = make_llm(server_settings)
    assert llm is not None
    items = list(stream_answer_with_llm(QUESTION["en"], "en", evidence, llm, embedder, server_settings))
    *deltas, answer = items
    assert isinstance(answer, Answer) and all(isinstance(d, str) for d in deltas)
    _assert_checked(answer)
    shown = "".join(d for d in deltas if isinstance(d, str))
    assert all(m.group(0) in RETRIEVED for m in ID_RE.finditer(shown))


def _big_evidence(language: Language) -> Evidence:
    """Eight cases whose notes are far longer than the prompt allows."""
    base = make_evidence()
    note = {"en": "The patient reports knee pain on stairs, morning stiffness and swelling after walking. ",
            "es": "La paciente refiere dolor de rodilla al subir escaleras, rigidez matinal e hinchazón al caminar. "}[language]
    cases = []
    for i in range(8):
        src = base.cases[i % 3]
        assert src.case is not None
        cid = f"PT-{i:02d}{src.case_id[5:]}"
        case = Case(**{**src.case.model_dump(), "case_id": cid, "summary": note * 3})
        chunks = [MatchedChunk(chunk_id=f"{cid}-{k}", doc_id="d", text=note * 12, score=0.5) for k in range(3)]
        cases.append(SimilarCase(case_id=cid, score=0.5, similarity=0.5, case=case, chunks=chunks))
    return Evidence(query="q", cases=cases, table=base.table)


@pytest.mark.parametrize("language", ["en", "es"])
def test_eight_cases_fit_a_4k_context_with_room_to_answer(language: Language, gguf_path: Path) -> None:
    from llama_cpp import Llama

    vocab = Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)
    messages = build_messages(QUESTION[language], language, _big_evidence(language))
    n = sum(len(vocab.tokenize(m["content"].encode(), add_bos=False)) for m in messages) + 40  # chat template
    assert n <= 4096 - 1024, f"{n} prompt tokens"
    assert messages[1]["content"].count("<<<CASE ") == 8
