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

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> Iterator[str]: ...


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


class OpenAICompatibleLLM:
    """Any OpenAI-compatible chat server: vLLM with HuatuoGPT-o1 in production, llama.cpp's server in tests.

    Retries (exponential backoff with jitter, `llm.max_retries`) only on connection errors, HTTP 429 and 5xx.
    A timeout is not retried: the request most likely was too long for `llm.timeout_s`, and a retry would double the wait.
    """

    def __init__(self, settings: LLMSettings) -> None:
        import openai

        if not settings.base_url:
            raise ConfigError("llm.backend=openai needs llm.base_url (e.g. http://127.0.0.1:8000/v1)")
        self.base_url = settings.base_url.rstrip("/")
        self.model = settings.model
        self.timeout_s = settings.timeout_s
        self.max_retries = settings.max_retries
        # The client's own retries are off: ours distinguish timeouts and produce the messages below.
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=settings.api_key.get_secret_value() or "EMPTY",
            timeout=settings.timeout_s,
            max_retries=0,
        )

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
        resp = self._call(
            lambda: self._client.chat.completions.create(
                model=self.model, messages=msgs, max_tokens=max_tokens, temperature=temperature, **kwargs,
            )
        )
        if not resp.choices:
            raise LLMError(f"the LLM at {self.base_url} returned no choices for model {self.model!r}")
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
        """Stream text deltas; connection failures before the first byte are retried like `complete`."""
        msgs: Any = list(messages)
        raw = self._call(
            lambda: self._client.chat.completions.create(
                model=self.model, messages=msgs, max_tokens=max_tokens, temperature=temperature,
                stream=True, stream_options={"include_usage": True},
            )
        )
        meta: dict[str, Any] = {}

        def deltas() -> Iterator[str]:
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
                            yield choice.delta.content
            except LLMError:
                raise
            except Exception as exc:  # noqa: BLE001 - every client failure becomes one LLMError line
                raise self._translate(exc, attempts=1) from None
            finally:
                raw.close()

        return LLMStream(deltas(), self.model, lambda: meta)

    # -- errors and retries

    def _call(self, fn: Callable[[], Any]) -> Any:
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001
                if attempt < attempts and _retryable(exc):
                    delay = _backoff(attempt, exc)
                    log.warning("LLM call failed (%s); retry %d/%d in %.1f s",
                                type(exc).__name__, attempt, self.max_retries, delay)
                    time.sleep(delay)
                    continue
                raise self._translate(exc, attempts=attempt) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: Exception, *, attempts: int) -> LLMError:
        """Map a client exception to one actionable line (no prompt, no server body: it may echo patient text)."""
        import openai

        url = self.base_url
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"the LLM at {url} did not answer within {self.timeout_s:g} s (timeout): "
                "raise llm.timeout_s or lower llm.max_tokens"
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"cannot reach the LLM at {url}: is vLLM/llama.cpp running?{tries} (check llm.base_url)")
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            body = str(getattr(exc, "message", "")).lower()
            if code in (401, 403):
                return LLMError(f"the LLM at {url} refused the API key (HTTP {code}): check llm.api_key")
            if code == 404:
                return LLMError(
                    f"the LLM at {url} does not serve model {self.model!r} (HTTP 404): "
                    f"check llm.model against GET {url}/models"
                )
            if code == 429:
                return LLMError(f"the LLM at {url} is overloaded (HTTP 429){tries}: retry later or raise llm.max_retries")
            if code >= 500:
                return LLMError(f"the LLM at {url} failed (HTTP {code}){tries}: check the server's log")
            if "context" in body or "too long" in body or "maximum" in body:
                return LLMError(
                    f"the LLM at {url} rejected the request (HTTP {code}): the prompt does not fit the model's context; "
                    "lower retrieval.top_cases or llm.max_tokens"
                )
            return LLMError(f"the LLM at {url} rejected the request (HTTP {code}): check llm.model and the server's log")
        return LLMError(f"the LLM at {url} failed: {type(exc).__name__}")


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
