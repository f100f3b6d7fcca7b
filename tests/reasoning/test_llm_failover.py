"""Several OpenAI-compatible servers behind one client: round-robin, failover to the survivor, cool-down, one clear error.

Two real llama.cpp servers (SmolLM2-135M) on 127.0.0.1 stand in for two vLLM replicas; each server's access log
tells which one answered.
"""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from casewise.errors import LLMError
from casewise.llm import Message, OpenAICompatibleLLM, make_llm
from casewise.settings import LLMSettings, load_settings
from tests.local_http import serving
from tests.parts import LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reasoning.reasoning_testdata import (
    LlamaServer,
    closed_port_url,
    start_llama_server,
    stop_llama_server,
    wait_until_serving,
)

HELLO: list[Message] = [{"role": "user", "content": "Say hi."}]


@pytest.fixture(scope="module")
def two_servers(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LlamaServer, LlamaServer]]:
    """Two llama.cpp servers started side by side (each ~1 s to load the 98 MB model)."""
    require_part(LLAMA_SERVER, llama_cpp_missing())
    folder = tmp_path_factory.mktemp("llama_logs")
    servers = (start_llama_server(gguf_path, folder / "a.log", n_ctx=512),
               start_llama_server(gguf_path, folder / "b.log", n_ctx=512))
    try:
        for s in servers:
            wait_until_serving(s)
        yield servers
    finally:
        for s in servers:
            stop_llama_server(s)


def _llm(*urls: str, **kw: object) -> OpenAICompatibleLLM:
    llm = make_llm(LLMSettings(backend="openai", base_urls=list(urls), model="smollm2", timeout_s=60,
                               max_retries=0, max_tokens=16, temperature=0.0, **kw))  # type: ignore[arg-type]
    assert isinstance(llm, OpenAICompatibleLLM)
    return llm


def test_one_url_and_comma_separated_urls_stay_backward_compatible() -> None:
    one = load_settings(llm={"backend": "openai", "base_url": "http://vllm-0:8000/v1"}).llm
    assert one.endpoints == ["http://vllm-0:8000/v1"]
    many = load_settings(llm={"backend": "openai", "base_url": "http://vllm-0:8000/v1, http://vllm-1:8000/v1/"}).llm
    assert many.base_url == "http://vllm-0:8000/v1"  # what single-server code (readiness, extraction) reads
    assert many.endpoints == ["http://vllm-0:8000/v1", "http://vllm-1:8000/v1"]


def test_base_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_LLM__BACKEND", "openai")
    monkeypatch.setenv("CASEWISE_LLM__BASE_URLS", "http://vllm-0:8000/v1,http://vllm-1:8000/v1")
    assert load_settings().llm.endpoints == ["http://vllm-0:8000/v1", "http://vllm-1:8000/v1"]
    monkeypatch.setenv("CASEWISE_LLM__BASE_URLS", '["http://vllm-2:8000/v1"]')
    assert load_settings().llm.base_url == "http://vllm-2:8000/v1"


def test_requests_spread_over_both_then_survive_one_server_dying(two_servers: tuple[LlamaServer, LlamaServer]) -> None:
    a, b = two_servers
    llm = _llm(a.url, b.url)
    before = (a.requests(), b.requests())
    for _ in range(4):
        assert llm.complete(HELLO, max_tokens=4, temperature=0.0).text.strip()
    spread = (a.requests() - before[0], b.requests() - before[1])
    assert spread == (2, 2), f"round-robin over two healthy servers should give 2 + 2, got {spread}"

    stop_llama_server(b)  # one replica dies
    before_a = a.requests()
    for _ in range(3):
        assert llm.complete(HELLO, max_tokens=4, temperature=0.0).text.strip()
    stream = llm.stream(HELLO, max_tokens=4, temperature=0.0)
    assert "".join(stream).strip() and stream.reply is not None
    assert a.requests() - before_a == 4  # every request, streamed or not, answered by the survivor


def test_unreachable_servers_give_one_error_naming_each() -> None:
    urls = [closed_port_url(), closed_port_url()]
    llm = _llm(*urls)
    for streaming in (False, True):
        with pytest.raises(LLMError) as err:
            if streaming:
                list(llm.stream(HELLO, max_tokens=4, temperature=0.0))
            else:
                llm.complete(HELLO, max_tokens=4, temperature=0.0)
        msg = str(err.value)
        assert all(u in msg for u in urls) and "llm.base_urls" in msg, msg
        assert "\n" not in msg and "Say hi" not in msg


class _BrokenHandler(http.server.BaseHTTPRequestHandler):
    """A replica whose model crashed: every chat request gets HTTP 503."""

    hits: ClassVar[int] = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "engine dead"}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def broken_server() -> Iterator[tuple[str, type[_BrokenHandler]]]:
    handler = type("Handler", (_BrokenHandler,), {"hits": 0})
    with serving(handler) as url:
        yield f"{url}/v1", handler


def test_a_failing_server_is_skipped_during_its_cool_down(
    two_servers: tuple[LlamaServer, LlamaServer], broken_server: tuple[str, type[_BrokenHandler]]
) -> None:
    a, _ = two_servers
    if a.proc.poll() is not None:
        pytest.fail("server a should still be running")
    url, handler = broken_server
    llm = _llm(url, a.url)
    for _ in range(3):
        assert llm.complete(HELLO, max_tokens=4, temperature=0.0).text.strip()
    assert handler.hits == 1  # tried once, then skipped for llm.failover_cooldown_s

    quick = _llm(url, a.url, failover_cooldown_s=0.0)
    for _ in range(4):
        assert quick.complete(HELLO, max_tokens=4, temperature=0.0).text.strip()
    assert handler.hits == 1 + 2  # without a cool-down round-robin keeps sending it every other request


class _DroppingStreamHandler(http.server.BaseHTTPRequestHandler):
    """A replica that starts a streamed answer and dies: before any token, or after the first one."""

    protocol_version = "HTTP/1.1"
    tokens_before_dying: ClassVar[int] = 0
    hits: ClassVar[int] = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for _ in range(type(self).tokens_before_dying):
            event = (b'data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"stub","choices":'
                     b'[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n')
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        self.wfile.flush()
        self.connection.shutdown(2)  # no terminating chunk: the client sees the connection drop

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def dropping_server() -> Iterator[tuple[str, type[_DroppingStreamHandler]]]:
    handler = type("Handler", (_DroppingStreamHandler,), {"hits": 0, "tokens_before_dying": 0})
    with serving(handler) as url:
        yield f"{url}/v1", handler


def test_a_stream_fails_over_only_before_its_first_token(
    two_servers: tuple[LlamaServer, LlamaServer], dropping_server: tuple[str, type[_DroppingStreamHandler]]
) -> None:
    a, _ = two_servers
    url, handler = dropping_server
    before = a.requests()
    stream = _llm(url, a.url).stream(HELLO, max_tokens=16, temperature=0.0)
    text = "".join(stream)
    assert text.strip() and handler.hits == 1 and a.requests() == before + 1  # the survivor answered

    handler.tokens_before_dying = 1
    stream = _llm(url, a.url).stream(HELLO, max_tokens=16, temperature=0.0)
    got: list[str] = []
    with pytest.raises(LLMError, match="dropped the connection mid-answer"):
        got.extend(stream)  # keeps what arrived before the error
    assert got == ["Hel"] and handler.hits == 2
    assert a.requests() == before + 1  # no second answer spliced onto text the reader has already seen
