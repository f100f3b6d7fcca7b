"""LLM backends beyond the shared contract (tests/contracts/test_llm_contract.py): choosing a backend, the OpenAI client's
timeouts, retries and errors against real local servers, and a missing GGUF."""

from __future__ import annotations

import http.server
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from casewise.errors import ConfigError, LLMError
from casewise.llm import Message, make_llm
from casewise.settings import LLMSettings
from tests.local_http import serving
from tests.reasoning.reasoning_testdata import closed_port_url

SECRET_NOTE = "patient-note-7731 knee pain"
HELLO: list[Message] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": f"Say hello in one short sentence. ({SECRET_NOTE})"},
]


def test_backend_none_means_no_model() -> None:
    assert make_llm(LLMSettings(backend="none")) is None


def test_unknown_backend_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        make_llm(LLMSettings.model_construct(backend="vllm"))
    assert "none, openai, llamacpp" in str(err.value)


def test_timeout_is_reported_with_the_setting_to_raise(server_settings: LLMSettings) -> None:
    llm = make_llm(server_settings.model_copy(update={"timeout_s": 0.01}))
    assert llm is not None
    t0 = time.monotonic()
    with pytest.raises(LLMError) as err:
        llm.complete(HELLO, max_tokens=8, temperature=0.0)
    msg = str(err.value)
    assert "timeout" in msg and "llm.timeout_s" in msg
    assert SECRET_NOTE not in msg and "\n" not in msg
    assert time.monotonic() - t0 < 5  # a timeout is not retried


@pytest.mark.parametrize("streaming", [False, True])
def test_server_down_names_the_url(streaming: bool) -> None:
    url = closed_port_url()
    llm = make_llm(LLMSettings(backend="openai", base_url=url, max_retries=0))
    assert llm is not None
    with pytest.raises(LLMError) as err:
        if streaming:
            list(llm.stream(HELLO, max_tokens=8, temperature=0.0))
        else:
            llm.complete(HELLO, max_tokens=8, temperature=0.0)
    msg = str(err.value)
    assert msg.startswith(f"cannot reach the LLM at {url}: is vLLM/llama.cpp running?")
    assert SECRET_NOTE not in msg and "\n" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


class _FlakyOpenAIHandler(http.server.BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with the queued HTTP statuses, then with a valid completion."""

    statuses: ClassVar[list[int]] = []
    hits: ClassVar[int] = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if type(self).statuses:
            code = type(self).statuses.pop(0)
            self.send_response(code)
            self.send_header("content-type", "application/json")
            if code == 429:
                self.send_header("retry-after", "0")
            self.end_headers()
            self.wfile.write(json.dumps({"error": {"message": "busy"}}).encode())
            return
        body = {
            "id": "x", "object": "chat.completion", "created": 0, "model": "stub",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def flaky_server() -> Iterator[tuple[str, type[_FlakyOpenAIHandler]]]:
    handler = type("Handler", (_FlakyOpenAIHandler,), {"statuses": [], "hits": 0})
    with serving(handler) as url:
        yield f"{url}/v1", handler


def test_overload_and_5xx_are_retried_then_succeed(flaky_server: tuple[str, type[_FlakyOpenAIHandler]]) -> None:
    url, handler = flaky_server
    handler.statuses = [429, 503]
    llm = make_llm(LLMSettings(backend="openai", base_url=url, max_retries=2))
    assert llm is not None
    assert llm.complete(HELLO, max_tokens=8, temperature=0.0).text == "hello"
    assert handler.hits == 3


def test_persistent_5xx_reports_attempts(flaky_server: tuple[str, type[_FlakyOpenAIHandler]]) -> None:
    url, handler = flaky_server
    handler.statuses = [502, 502]
    llm = make_llm(LLMSettings(backend="openai", base_url=url, max_retries=1))
    assert llm is not None
    with pytest.raises(LLMError, match=r"HTTP 502\) after 2 attempts"):
        llm.complete(HELLO, max_tokens=8, temperature=0.0)
    assert handler.hits == 2


def test_client_errors_are_not_retried(flaky_server: tuple[str, type[_FlakyOpenAIHandler]]) -> None:
    url, handler = flaky_server
    handler.statuses = [401]
    llm = make_llm(LLMSettings(backend="openai", base_url=url, max_retries=3))
    assert llm is not None
    with pytest.raises(LLMError, match="llm.api_key"):
        llm.complete(HELLO, max_tokens=8, temperature=0.0)
    assert handler.hits == 1


def test_llamacpp_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="no GGUF file at"):
        make_llm(LLMSettings(backend="llamacpp", gguf_path=str(tmp_path / "missing.gguf")))
