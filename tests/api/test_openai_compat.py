"""The unchanged `openai` Python client against /v1/chat/completions and /v1/models."""

from __future__ import annotations

import openai
import pytest

from tests.api.conftest import Clinic, Keys, Server, audit_count

QUESTION = "Mujer de 60 años con artrosis de rodilla, EVA 8. ¿Qué tratamientos funcionaron?"


def _client(server: Server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)


def test_models(server: Server, keys: Keys) -> None:
    ids = [m.id for m in _client(server, keys.clinician).models.list()]
    assert ids == ["casewise", "casewise-evidence"]


def test_chat_completion(server: Server, keys: Keys, clinic: Clinic) -> None:
    before = audit_count(clinic.runtime)
    r = _client(server, keys.clinician).chat.completions.create(
        model="casewise", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": QUESTION}])
    assert audit_count(clinic.runtime) == before + 1
    msg = r.choices[0].message
    assert msg.role == "assistant" and r.choices[0].finish_reason == "stop"
    extra = r.model_extra["casewise"]
    assert extra["case_ids"] and set(extra["case_ids"]) <= set(clinic.case_ids)
    assert f"[{extra['case_ids'][0]}]" in msg.content and "Casos citados" in msg.content
    assert extra["evidence"]["table"] and extra["mode"] == "evidence"
    assert r.usage and r.usage.total_tokens > 0


def test_chat_completion_streaming(server: Server, keys: Keys, clinic: Clinic) -> None:
    before = audit_count(clinic.runtime)
    stream = _client(server, keys.clinician).chat.completions.create(
        model="casewise-evidence", stream=True,
        messages=[{"role": "user", "content": [{"type": "text", "text": "knee osteoarthritis VAS 7, what worked?"}]}],
        extra_body={"casewise": {"k": 5, "language": "en"}})
    chunks = list(stream)
    assert audit_count(clinic.runtime) == before + 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    extra = chunks[-1].model_extra["casewise"]
    assert len(extra["retrieved_case_ids"]) <= 5
    assert "| treatment |" in text and "Cited cases:" in text
    assert all(f"[{cid}]" in text for cid in extra["case_ids"])


def test_openai_errors(server: Server, keys: Keys) -> None:
    with pytest.raises(openai.AuthenticationError):
        _client(server, "cw_000000000000_bad").models.list()
    with pytest.raises(openai.NotFoundError):
        _client(server, keys.clinician).chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError):
        _client(server, keys.clinician).chat.completions.create(
            model="casewise", messages=[{"role": "assistant", "content": "only me"}])
