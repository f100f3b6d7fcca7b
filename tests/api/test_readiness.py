"""/readyz with several LLM servers (`llm.base_urls`): ready while one answers, each server's state listed.

The live server is a real llama.cpp server (SmolLM2-135M, as in tests/reasoning/test_llm_failover.py); the others
are local ports nothing listens on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from casewise.settings import ApiSettings, LLMSettings
from tests.api.conftest import Clinic
from tests.parts import LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reasoning.reasoning_testdata import closed_port_url, running_llama_server, smollm2_gguf

API_KEY = "sk-readiness-secret-1234"


@pytest.fixture(scope="module")
def live_llm() -> Iterator[str]:
    require_part(LLAMA_SERVER, llama_cpp_missing())
    gguf = smollm2_gguf()
    assert gguf is not None
    with running_llama_server(gguf, alias="smollm2", n_ctx=512, threads=1) as base:
        yield base


def readiness(clinic: Clinic, urls: list[str]) -> tuple[int, dict[str, object]]:
    rt = copy.copy(clinic.runtime)  # the session's store, index and embedder; only the LLM settings differ
    rt.settings = clinic.runtime.settings.model_copy(update={"llm": LLMSettings(
        backend="openai", base_urls=urls, model="smollm2", api_key=API_KEY, max_retries=0, timeout_s=10)})
    r = TestClient(create_app(rt, ApiSettings(readiness_timeout_s=3))).get("/readyz")
    assert API_KEY not in r.text
    return r.status_code, r.json()


def test_ready_while_one_of_two_servers_answers_and_each_is_listed(clinic: Clinic, live_llm: str) -> None:
    dead = closed_port_url()
    status, body = readiness(clinic, [dead, live_llm])
    checks = body["checks"]
    assert status == 200 and body["ready"] is True
    assert checks["llm"] == "ok (1 of 2 servers answer)"
    assert checks[f"llm {live_llm}"] == "ok"
    assert checks[f"llm {dead}"] == "unreachable (ConnectError)"


def test_not_ready_when_no_server_answers(clinic: Clinic) -> None:
    dead = [closed_port_url(), closed_port_url()]
    status, body = readiness(clinic, dead)
    checks = body["checks"]
    assert status == 503 and body["ready"] is False
    assert checks["llm"] == "none of 2 servers answers"
    assert [checks[f"llm {u}"] for u in dead] == ["unreachable (ConnectError)"] * 2
    assert checks["store"] == checks["index"] == "ok"  # only the LLM is missing


def test_urls_are_listed_without_their_credentials(clinic: Clinic, live_llm: str) -> None:
    with_password = live_llm.replace("http://", "http://clinic:hunter2@") + "?token=t0ps3cret"
    status, body = readiness(clinic, [with_password])
    assert status == 200 and "hunter2" not in str(body) and "t0ps3cret" not in str(body)
    assert body["checks"]["llm"] == "ok" and body["checks"][f"llm {live_llm}"] == "ok"
