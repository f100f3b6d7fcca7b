"""The API with a reasoning model configured: a stand-in OpenAI-compatible server (same protocol as vLLM) writes
`## Thinking` then `## Final Response` citing retrieved cases. Checks streaming, the thinking field, readiness and
the 502 when the model server fails."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.app import create_app
from casewise.settings import ApiSettings, LLMSettings
from tests.api.conftest import Clinic, Keys, audit_count, bearer, parse_sse, start_server, stop_server


def stub_llm(state: dict[str, Any]) -> FastAPI:
    """A tiny OpenAI-compatible chat server that cites the first two case ids it was shown."""
    app = FastAPI()

    @app.get("/v1/models")
    def models() -> Any:
        if state.get("fail"):
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        return {"object": "list", "data": [{"id": "stub", "object": "model", "created": 0, "owned_by": "test"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        if state.get("fail"):
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        body = await request.json()
        prompt = " ".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
        ids = list(dict.fromkeys(re.findall(r"PT-[A-Z0-9]{6,}", prompt)))[:2]
        reply = ("## Thinking\nBoth similar cases improved after PRP; the evidence table agrees.\n"
                 f"## Final Response\nPRP helped similar patients [{ids[0]}]. Pain fell by several points [{ids[1]}].")
        if not body.get("stream"):
            return {"id": "x", "object": "chat.completion", "created": 0, "model": "stub",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

        def chunks() -> Iterator[str]:
            for i in range(0, len(reply), 12):
                c = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                     "choices": [{"index": 0, "delta": {"content": reply[i:i + 12]}, "finish_reason": None}]}
                yield f"data: {json.dumps(c)}\n\n"
            end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(end)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def llm_state() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def llm_server(clinic: Clinic, llm_state: dict[str, Any]) -> Iterator[str]:
    stub = start_server(stub_llm(llm_state))
    # A view of the session Runtime (same store, index and embedder) whose settings name the stand-in model.
    rt = copy.copy(clinic.runtime)
    rt.settings = clinic.runtime.settings.model_copy(update={"llm": LLMSettings(
        backend="openai", base_url=f"{stub.url}/v1", model="stub", max_retries=0, timeout_s=10)})
    api = start_server(create_app(rt, ApiSettings(rate_per_minute=60_000, rate_burst=1_000)))
    yield api.url
    stop_server(api)
    stop_server(stub)


def test_readyz_checks_the_llm(llm_server: str, llm_state: dict[str, Any]) -> None:
    r = httpx.get(f"{llm_server}/readyz")
    assert r.status_code == 200 and r.json()["checks"]["llm"] == "ok"


def test_streamed_llm_answer_with_thinking(llm_server: str, keys: Keys, clinic: Clinic) -> None:
    before = audit_count(clinic.runtime)
    r = httpx.post(f"{llm_server}/v1/ask", json={"question": "knee osteoarthritis VAS 7, what worked?",
                                                 "stream": True, "language": "en"},
                   headers=bearer(keys.clinician), timeout=60)
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    assert events[-1][0] == "answer", events[-1]
    answer = json.loads(events[-1][1])
    assert answer["mode"] == "llm" and answer["thinking"] and "PRP" in answer["thinking"]
    assert "## Thinking" not in answer["text"]
    assert [c["case_id"] for c in answer["citations"] if c["valid"]]
    assert len([e for e, _ in events if e == "delta"]) > 1
    assert audit_count(clinic.runtime) == before + 1


def test_llm_failure_is_502(llm_server: str, keys: Keys, llm_state: dict[str, Any], clinic: Clinic) -> None:
    llm_state["fail"] = True
    try:
        before = audit_count(clinic.runtime)
        r = httpx.post(f"{llm_server}/v1/ask", json={"question": "knee osteoarthritis VAS 7, what worked?"},
                       headers=bearer(keys.clinician), timeout=60)
        assert r.status_code == 502 and r.json()["error"]["code"] == "llm_error"
        assert audit_count(clinic.runtime) == before  # nothing clinical was returned
        ready = httpx.get(f"{llm_server}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["llm"].startswith("HTTP 500")
    finally:
        llm_state["fail"] = False
