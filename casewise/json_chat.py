"""Chat completions constrained to one JSON schema, in the dialect the server takes.

vLLM (and OpenAI) take `response_format={"type": "json_schema", ...}`; llama.cpp's server rejects that (HTTP 422, or
in llama-cpp-python 0.3.x a 500 naming response_format) and honours `{"type": "json_object", "schema": {...}}`
instead. Mode "auto" sends the first and switches to the second for good when the server refuses it.

Light on purpose (the kernel's errors only): the LLM extractor and the LLM question planner use it without loading
the OpenAI client until a server is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from casewise.errors import LLMError

ResponseFormat = Literal["auto", "json_schema", "json_object"]


class ChatModel(Protocol):
    """What a schema-constrained caller needs from a chat model (the `casewise.llm` backends have this method)."""

    model: str

    def complete(self, messages: Sequence[Any], *, max_tokens: int, temperature: float,
                 response_format: dict[str, Any] | None = None) -> Any: ...


class SchemaChat:
    """`complete(messages)` at temperature 0 under `schema`, falling back once from json_schema to json_object."""

    def __init__(self, chat: ChatModel, schema: dict[str, Any], name: str, *, mode: ResponseFormat = "auto",
                 max_tokens: int = 1024) -> None:
        self.chat = chat
        self.schema = schema
        self.name = name
        self.mode: ResponseFormat = mode
        self.max_tokens = max_tokens

    def response_format(self, mode: str) -> dict[str, Any]:
        if mode == "json_object":
            return {"type": "json_object", "schema": self.schema}
        return {"type": "json_schema", "json_schema": {"name": self.name, "schema": self.schema}}

    def complete(self, messages: Sequence[Any]) -> Any:
        mode = "json_schema" if self.mode == "auto" else self.mode
        try:
            return self.chat.complete(messages, max_tokens=self.max_tokens, temperature=0.0,
                                      response_format=self.response_format(mode))
        except LLMError as exc:
            status, about_format = getattr(exc, "status", None), getattr(exc, "about_format", False)
            if self.mode != "auto" or not (status in (400, 422) or about_format):
                raise
            self.mode = "json_object"
            return self.chat.complete(messages, max_tokens=self.max_tokens, temperature=0.0,
                                      response_format=self.response_format("json_object"))
