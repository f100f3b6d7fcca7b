"""LLM backends behind one protocol: an OpenAI-compatible server (vLLM, llama.cpp's server) or an in-process GGUF.

Every failure leaves this module as `LLMError` with a one-line message that names the URL or file and the setting
to change. Messages never carry the prompt or the model's text: both hold (de-identified) patient records.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from casewise.errors import ConfigError, LLMError
from casewise.settings import LLMSettings

log = logging.getLogger(__name__)

BACKENDS = ("none", "openai", "llamacpp")
LLAMACPP_N_CTX = 4096
LLAMACPP_N_THREADS = 2
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class LLMStatusError(LLMError):
    """The server answered with an HTTP error status; callers may react to it (the extractor to a refused format)."""

    def __init__(self, message: str, *, status: int, about_format: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.about_format = about_format  # the server's error names response_format / json_object


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class LLMReply:
    """One completed generation."""

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None  # "stop", "length" (cut by max_tokens) ...


class LLMStream(Iterator[str]):
    """Text deltas of one generation; after exhaustion `reply` holds the whole text, model, usage and finish reason."""

    def __init__(self, deltas: Iterable[str], model: str, finish: Callable[[], dict[str, Any]] | None = None) -> None:
        self._it = iter(deltas)
        self._parts: list[str] = []
        self._model = model
        self._finish = finish
        self.reply: LLMReply | None = None

    def __iter__(self) -> LLMStream:
        return self

    def __next__(self) -> str:
        try:
            delta = next(self._it)
        except StopIteration:
            if self.reply is None:
                meta = self._finish() if self._finish else {}
                self.reply = LLMReply(
                    text="".join(self._parts),
                    model=meta.get("model") or self._model,
                    prompt_tokens=meta.get("prompt_tokens"),
                    completion_tokens=meta.get("completion_tokens"),
                    finish_reason=meta.get("finish_reason"),
                )
            raise
        self._parts.append(delta)
        return delta


class LLM(Protocol):
    """A chat model. `model` names what answered, for the audit trail."""

    model: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        response_format: dict[str, Any] | None = None,
    ) -> LLMReply: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> LLMStream:
        """Text deltas; once exhausted, the stream's `reply` holds the whole text, model, usage and finish reason."""
        ...


def make_llm(settings: LLMSettings) -> LLM | None:
    """Build the backend named by `settings.backend`; None for "none" (the answer is written from the evidence)."""
    backend = settings.backend
    if backend == "none":
        return None
    if backend == "openai":
        return OpenAICompatibleLLM(settings)
    if backend == "llamacpp":
        return LlamaCppLLM(settings)
    raise ConfigError(f"llm.backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")


# --------------------------------------------------------------------------- OpenAI-compatible server


class _Endpoint:
    """One OpenAI-compatible server and when it may be tried again after a failure."""

    def __init__(self, url: str, client: Any) -> None:
        self.url = url
        self.client = client
        self.failed_until = 0.0  # time.monotonic() before which the endpoint is skipped


class OpenAICompatibleLLM:
    """Any OpenAI-compatible chat server: vLLM with HuatuoGPT-o1 in production, llama.cpp's server in tests.

    Several servers (`llm.base_urls`, or a comma-separated `llm.base_url`) share the load round-robin. A server that
    refuses the connection, answers 5xx or times out is skipped for `llm.failover_cooldown_s` and the request goes to the
    next one; a stream fails over only before its first token (after that the reader has seen text).
    Retries (exponential backoff with jitter, `llm.max_retries`) repeat the round over all servers, only after
    connection errors, HTTP 429 and 5xx. A timeout is not retried: the request most likely was too long for
    `llm.timeout_s`, and a retry would double the wait.
    """

    def __init__(self, settings: LLMSettings) -> None:
        import openai

        urls = settings.endpoints
        if not urls:
            raise ConfigError("llm.backend=openai needs llm.base_url (e.g. http://127.0.0.1:8000/v1)")
        self.base_url = urls[0]
        self.model = settings.model
        self.timeout_s = settings.timeout_s
        self.max_retries = settings.max_retries
        self.cooldown_s = settings.failover_cooldown_s
        # The client's own retries are off: ours distinguish timeouts, fail over, and produce the messages below.
        self._endpoints = [
            _Endpoint(url, openai.OpenAI(base_url=url, api_key=settings.api_key.get_secret_value() or "EMPTY",
                                         timeout=settings.timeout_s, max_retries=0))
            for url in urls
        ]
        self._client = self._endpoints[0].client
        self._lock = threading.Lock()
        self._next = 0

    @property
    def base_urls(self) -> list[str]:
        return [e.url for e in self._endpoints]

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        response_format: dict[str, Any] | None = None,
    ) -> LLMReply:
        """One chat completion."""
        kwargs: dict[str, Any] = {}
        if response_format is not None:
            kwargs["response_format"] = response_format
        msgs: Any = list(messages)  # our TypedDict is the shape the client's message params describe
        resp, ep = self._call(
            lambda client: client.chat.completions.create(
                model=self.model, messages=msgs, max_tokens=max_tokens, temperature=temperature, **kwargs,
            )
        )
        if not resp.choices:
            raise LLMError(f"the LLM at {ep.url} returned no choices for model {self.model!r}")
        choice = resp.choices[0]
        usage = resp.usage
        return LLMReply(
            text=choice.message.content or "",
            model=resp.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            finish_reason=choice.finish_reason,
        )

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> LLMStream:
        """Stream text deltas; failures before the first token are retried and fail over like `complete`."""
        msgs: Any = list(messages)

        def create(client: Any) -> Any:
            return client.chat.completions.create(
                model=self.model, messages=msgs, max_tokens=max_tokens, temperature=temperature,
                stream=True, stream_options={"include_usage": True},
            )

        raw, ep = self._call(create)
        meta: dict[str, Any] = {}

        def deltas() -> Iterator[str]:
            nonlocal raw, ep
            tried = {ep.url}
            started = False
            try:
                while True:
                    try:
                        for chunk in raw:
                            if chunk.model:
                                meta["model"] = chunk.model
                            if chunk.usage:
                                meta["prompt_tokens"] = chunk.usage.prompt_tokens
                                meta["completion_tokens"] = chunk.usage.completion_tokens
                            for choice in chunk.choices:
                                if choice.finish_reason:
                                    meta["finish_reason"] = choice.finish_reason
                                if choice.delta and choice.delta.content:
                                    started = True
                                    yield choice.delta.content
                        return
                    except Exception as exc:  # noqa: BLE001 - every client failure becomes one LLMError line
                        if started or not _fails_over(exc) or len(tried) == len(self._endpoints):
                            raise self._translate(exc, attempts=1, where=ep.url) from None
                        self._mark_failed(ep, exc)  # nothing shown yet: the next server may start afresh
                        raw.close()
                        raw, ep = self._call(create, exclude=frozenset(tried))
                        tried.add(ep.url)
            finally:
                raw.close()

        return LLMStream(deltas(), self.model, lambda: meta)

    # -- balancing, failover, errors and retries

    def _order(self, exclude: frozenset[str]) -> list[_Endpoint]:
        """Healthy endpoints round-robin, then those cooling down, soonest-recovering first (a last resort)."""
        now = time.monotonic()
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self._endpoints)
        ring = self._endpoints[start:] + self._endpoints[:start]
        ring = [e for e in ring if e.url not in exclude]
        healthy = [e for e in ring if e.failed_until <= now]
        cooling = sorted((e for e in ring if e.failed_until > now), key=lambda e: e.failed_until)
        return healthy + cooling

    def _mark_failed(self, ep: _Endpoint, exc: Exception) -> None:
        if len(self._endpoints) > 1:
            log.warning("LLM endpoint %s failed (%s); skipping it for %.0f s", ep.url, type(exc).__name__, self.cooldown_s)
        ep.failed_until = time.monotonic() + self.cooldown_s

    def _call(self, fn: Callable[[Any], Any], exclude: frozenset[str] = frozenset()) -> tuple[Any, _Endpoint]:
        """Run `fn(client)` on one endpoint after another until one answers; whole rounds are retried with backoff."""
        rounds = self.max_retries + 1
        last: Exception | None = None
        last_ep: _Endpoint | None = None
        failed: set[str] = set()
        for attempt in range(1, rounds + 1):
            for ep in self._order(exclude):
                try:
                    return fn(ep.client), ep
                except Exception as exc:  # noqa: BLE001
                    last, last_ep = exc, ep
                    if not _fails_over(exc):
                        raise self._translate(exc, attempts=attempt, where=ep.url) from None
                    failed.add(ep.url)
                    if getattr(exc, "status_code", None) != 429:  # busy is not broken: no cool-down
                        self._mark_failed(ep, exc)
            assert last is not None and last_ep is not None
            if attempt < rounds and _retryable(last):
                delay = _backoff(attempt, last)
                log.warning("LLM call failed (%s); retry %d/%d in %.1f s",
                            type(last).__name__, attempt, self.max_retries, delay)
                time.sleep(delay)
                continue
            where = last_ep.url if len(failed) == 1 else "any of " + ", ".join(sorted(failed, key=self.base_urls.index))
            raise self._translate(last, attempts=attempt, where=where) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: Exception, *, attempts: int, where: str | None = None) -> LLMError:
        """Map a client exception to one actionable line (no prompt, no server body: it may echo patient text)."""
        import openai

        url = where or self.base_url
        setting = "llm.base_urls" if url.startswith("any of ") else "llm.base_url"
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"the LLM at {url} did not answer within {self.timeout_s:g} s (timeout): "
                "raise llm.timeout_s or lower llm.max_tokens"
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"cannot reach the LLM at {url}: is vLLM/llama.cpp running?{tries} (check {setting})")
        if isinstance(exc, openai.APIStatusError):
            about_format = "response_format" in str(getattr(exc, "message", "")) or "json_object" in str(exc.body)
            return LLMStatusError(self._status_message(exc, url, tries), status=exc.status_code,
                                  about_format=about_format)
        import httpx

        if isinstance(exc, httpx.TransportError):
            return LLMError(f"the LLM at {url} dropped the connection mid-answer ({type(exc).__name__}): "
                            "check the server's log")
        return LLMError(f"the LLM at {url} failed: {type(exc).__name__}")

    def _status_message(self, exc: Any, url: str, tries: str) -> str:
        code = exc.status_code
        body = str(getattr(exc, "message", "")).lower()
        if code in (401, 403):
            return f"the LLM at {url} refused the API key (HTTP {code}): check llm.api_key"
        if code == 404:
            return (f"the LLM at {url} does not serve model {self.model!r} (HTTP 404): "
                    f"check llm.model against GET {url}/models")
        if code == 429:
            return f"the LLM at {url} is overloaded (HTTP 429){tries}: retry later or raise llm.max_retries"
        if code >= 500:
            return f"the LLM at {url} failed (HTTP {code}){tries}: check the server's log"
        if "context" in body or "too long" in body or "maximum" in body:
            return (f"the LLM at {url} rejected the request (HTTP {code}): the prompt does not fit the model's "
                    "context; lower retrieval.top_cases or llm.max_tokens")
        return f"the LLM at {url} rejected the request (HTTP {code}): check llm.model and the server's log"


def _fails_over(exc: Exception) -> bool:
    """Errors another server might not have: unreachable, timed out, busy or broken (not a refused request)."""
    import httpx
    import openai

    # httpx's own errors surface while a stream is read (the server died before sending anything)
    return isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | httpx.TransportError) or _retryable(exc)


def _retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in RETRY_STATUS


def _backoff(attempt: int, exc: Exception) -> float:
    """Exponential backoff with jitter; a server's Retry-After (seconds) wins when it is shorter than the cap."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    response = getattr(exc, "response", None)
    retry_after = response.headers.get("retry-after") if response is not None else None
    if retry_after:
        try:
            return min(BACKOFF_CAP_S, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return delay * (0.8 + 0.4 * random.random())


# --------------------------------------------------------------------------- in-process GGUF


class LlamaCppLLM:
    """A GGUF model run in this process by llama-cpp-python (one generation at a time)."""

    def __init__(self, settings: LLMSettings, *, n_ctx: int = LLAMACPP_N_CTX, n_threads: int = LLAMACPP_N_THREADS) -> None:
        if not settings.gguf_path:
            raise ConfigError("llm.backend=llamacpp needs llm.gguf_path")
        path = Path(settings.gguf_path).expanduser()
        if not path.is_file():
            raise LLMError(f"llm.gguf_path: no GGUF file at {path}")
        try:
            from llama_cpp import Llama
        except ImportError:
            raise LLMError("llm.backend=llamacpp needs the llama-cpp-python package: pip install llama-cpp-python") from None
        try:
            self._llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        except Exception as exc:  # noqa: BLE001
            raise LLMError(f"cannot load the GGUF at {path} ({type(exc).__name__}): is it a valid GGUF file?") from None
        self.path = path
        self.n_ctx = n_ctx
        self.model = settings.model if settings.model != LLMSettings.model_fields["model"].default else path.stem
        self._lock = threading.Lock()  # a llama.cpp context is not safe for concurrent use

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        response_format: dict[str, Any] | None = None,
    ) -> LLMReply:
        """One chat completion."""
        with self._lock:
            try:
                resp: Any = self._llama.create_chat_completion(
                    messages=list(messages),  # type: ignore[arg-type]
                    max_tokens=max_tokens, temperature=temperature,
                    response_format=response_format,  # type: ignore[arg-type]
                )
            except Exception as exc:  # noqa: BLE001
                raise self._translate(exc) from None
        choice = resp["choices"][0]
        usage = resp.get("usage") or {}
        return LLMReply(
            text=choice["message"].get("content") or "",
            model=self.model,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=choice.get("finish_reason"),
        )

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> LLMStream:
        """Stream text deltas (holds the model for the whole generation)."""
        meta: dict[str, Any] = {}

        def deltas() -> Iterator[str]:
            with self._lock:
                try:
                    chunks: Any = self._llama.create_chat_completion(
                        messages=list(messages),  # type: ignore[arg-type]
                        max_tokens=max_tokens, temperature=temperature, stream=True,
                    )
                    n = 0
                    for chunk in chunks:
                        for choice in chunk["choices"]:
                            if choice.get("finish_reason"):
                                meta["finish_reason"] = choice["finish_reason"]
                            text = (choice.get("delta") or {}).get("content")
                            if text:
                                n += 1
                                yield text
                    meta["completion_tokens"] = n  # one delta per token in llama-cpp-python
                except LLMError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise self._translate(exc) from None

        return LLMStream(deltas(), self.model, lambda: meta)

    def _translate(self, exc: Exception) -> LLMError:
        msg = str(exc)
        if "context window" in msg or "exceed" in msg:
            return LLMError(
                f"the prompt does not fit the {self.n_ctx}-token context of {self.path.name}: "
                "lower retrieval.top_cases or llm.max_tokens"
            )
        return LLMError(f"the GGUF model {self.path.name} failed ({type(exc).__name__})")
