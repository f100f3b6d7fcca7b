"""One LLM client per process (app.runtime): questions asked one after another through one running API share it,
so a failed model server stays skipped for `llm.failover_cooldown_s` from one request to the next, and the
in-process llama.cpp backend loads its GGUF once, not once per question. Real llama.cpp server and model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from app import clinical
from app.keys import create_key
from casewise.settings import ApiSettings, LLMSettings
from tests.api.conftest import start_server, stop_server
from tests.reasoning.test_llm_failover import _BrokenHandler, broken_server  # noqa: F401 - the fixture

QUESTION = "62-year-old man with knee osteoarthritis, VAS 7 despite NSAIDs. What worked for patients like this one?"


@pytest.fixture()
def llm_runtime(indexed: Any, llama_server: str, broken_server: tuple[str, type[_BrokenHandler]]) -> Any:  # noqa: F811
    """The session's indexed Runtime, viewed with two model servers configured: a broken one first, then llama.cpp."""
    rt, _ = indexed
    broken_url, _handler = broken_server
    llm = LLMSettings(backend="openai", base_urls=[broken_url, llama_server], model="smollm2", timeout_s=60,
                      max_retries=0, max_tokens=48, temperature=0.0, failover_cooldown_s=600)
    return rt.view(rt.settings.model_copy(update={"llm": llm}))


@pytest.fixture()
def api_url(llm_runtime: Any) -> Iterator[str]:
    running = start_server(create_app(llm_runtime, ApiSettings(rate_per_minute=60_000, rate_burst=1_000)))
    yield running.url
    stop_server(running)


def test_two_questions_through_one_server_share_the_client_and_its_cool_down(
        llm_runtime: Any, api_url: str, broken_server: tuple[str, type[_BrokenHandler]]) -> None:  # noqa: F811
    _, handler = broken_server
    _, key = create_key(llm_runtime.store, "reuse-test", "clinician")
    answers = []
    for _ in range(2):
        r = httpx.post(f"{api_url}/v1/ask", json={"question": QUESTION, "language": "en"},
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)
        assert r.status_code == 200, r.text
        answers.append(r.json())
    assert [a["mode"] for a in answers] == ["llm", "llm"], "both answers come from the model, not the table alone"
    # A client built per question would start at the broken server again on the second question (2 hits).
    assert handler.hits == 1, f"the broken server was tried {handler.hits} times; its cool-down did not carry over"
    assert llm_runtime.llm is llm_runtime.llm and "llm" in llm_runtime.__dict__


def test_in_process_llama_cpp_loads_its_model_once_for_two_questions(
        indexed: Any, gguf_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    loads: list[str] = []

    class CountingLlama(llama_cpp.Llama):  # the real model class; only its constructions are counted
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            loads.append(str(kwargs.get("model_path")))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", CountingLlama)
    rt, _ = indexed
    view = rt.view(rt.settings.model_copy(update={"llm": LLMSettings(
        backend="llamacpp", gguf_path=str(gguf_path), max_tokens=32, temperature=0.0)}))
    # Three cases keep the prompt inside the 4096-token context of the 135M test model.
    modes = [clinical.ask(view, QUESTION, k=3, language="en", actor="test").mode for _ in range(2)]
    assert modes == ["llm", "llm"]
    assert loads == [str(gguf_path)], f"the GGUF was loaded {len(loads)} times for two questions"
