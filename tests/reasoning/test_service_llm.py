"""`ask` end to end with the model path: real index, real embedder, real llama.cpp OpenAI-compatible server."""

from __future__ import annotations

from app import clinical as service
from app.runtime import Runtime
from casewise.settings import LLMSettings
from casewise.types import Answer


def _with_llm(rt: Runtime, llm: LLMSettings) -> Runtime:
    """A runtime sharing the indexed components, with the LLM configured (the embedded index allows one opener)."""
    other = Runtime(rt.settings.model_copy(update={"llm": llm}))
    for name in ("store", "index", "embedder", "deid"):
        other.__dict__[name] = getattr(rt, name)
    return other


def test_ask_through_the_openai_protocol_cites_only_retrieved_cases(indexed, server_settings: LLMSettings) -> None:
    rt, _ = indexed
    llm_rt = _with_llm(rt, server_settings)
    streamed: list[str] = []
    answer: Answer | None = None
    for item in service.ask_stream(llm_rt, "Woman, 60, knee osteoarthritis KL2, VAS 7. What worked?", actor="test"):
        if isinstance(item, Answer):
            answer = item
        else:
            streamed.append(item)
    assert answer is not None and answer.mode == "llm" and answer.model
    retrieved = {c.case_id for c in answer.evidence.cases}
    assert {c.case_id for c in answer.citations} <= retrieved
    assert answer.notice
    assert rt.store.audit_entries()[-1].detail["mode"] == "llm"
