"""Ragas metrics with a local judge: faithfulness, answer relevancy, context precision and context recall.

The judge is any OpenAI-compatible server (`eval.judge`). Ragas asks it for structured outputs through instructor
in JSON_SCHEMA mode: vLLM honours OpenAI's `json_schema` response format natively (guided JSON); llama.cpp's server
rejects it but constrains generation with a JSON-schema grammar given as `json_object` + `schema`, so for that
backend the request is rewritten on its way out. Arrays in those schemas get 1 to MAX_ITEMS items: otherwise a small
model closes every list at once (NaN) or repeats items until the JSON is cut off. Embeddings (answer relevancy)
come from Casewise's own embedder.

Without a judge only Ragas's non-LLM metrics run: ID-based context precision and recall over case ids.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from casewise.embedding import Embedder
from casewise.errors import ConfigError, LLMError
from casewise.offline import enforce_offline
from casewise.settings import JudgeSettings

log = logging.getLogger(__name__)

LLM_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")
NON_LLM_METRICS = ("id_context_precision", "id_context_recall")
METRIC_LABELS = {
    "faithfulness": "Faithfulness (Ragas, LLM judge)",
    "answer_relevancy": "Answer relevancy (Ragas, LLM judge)",
    "context_precision": "Context precision (Ragas, LLM judge)",
    "context_recall": "Context recall (Ragas, LLM judge)",
    "id_context_precision": "Context precision by case id (Ragas non-LLM): expected share of the first k",
    "id_context_recall": "Context recall by case id (Ragas non-LLM): expected cases among the first k",
}
MAX_ITEMS = 10  # statements / verdicts per judge reply on llama.cpp: enough for an answer paragraph
JUDGE_RETRIES = 1
JUDGE_PROBE_TIMEOUT_S = 10.0  # instructor re-asks once on invalid JSON; more only multiplies the wait on a slow judge


@dataclass
class RagasSample:
    """What one question produced: the question, the answer, the contexts the answer was written from."""

    question: str
    response: str
    contexts: list[str]
    retrieved_ids: list[str] = field(default_factory=list)
    reference_ids: list[str] = field(default_factory=list)
    reference: str | None = None


def bounded_arrays(schema: Any, max_items: int = MAX_ITEMS) -> Any:
    """A copy of a JSON schema in which every array has 1 to `max_items` items.

    A small model otherwise closes every list at once (NaN) or repeats items until max_tokens cuts the JSON.
    """
    if isinstance(schema, dict):
        out = {k: bounded_arrays(v, max_items) for k, v in schema.items()}
        if out.get("type") == "array":
            out.setdefault("minItems", 1)
            out.setdefault("maxItems", max_items)
        return out
    if isinstance(schema, list):
        return [bounded_arrays(v, max_items) for v in schema]
    return schema


def to_llamacpp_response_format(response_format: Any) -> Any:
    """OpenAI's `json_schema` response format as llama.cpp's server takes it (`json_object` + `schema`)."""
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"type": "json_object", "schema": bounded_arrays(copy.deepcopy(schema))}
    return response_format


def strict_json(text: str) -> str:
    """llama.cpp's grammar lets raw line breaks into JSON strings, which pydantic refuses: re-encode them escaped."""
    try:
        return json.dumps(json.loads(text, strict=False), ensure_ascii=False)
    except ValueError:
        return text  # not JSON at all: instructor reports it (and re-asks)


def _async_client(settings: JudgeSettings) -> Any:
    import openai

    client = openai.AsyncOpenAI(base_url=settings.base_url, api_key=settings.api_key.get_secret_value() or "EMPTY",
                                timeout=settings.timeout_s, max_retries=1)
    if settings.backend == "llamacpp-server":
        create = client.chat.completions.create

        async def create_for_llamacpp(*args: Any, **kwargs: Any) -> Any:
            if "response_format" in kwargs:
                kwargs["response_format"] = to_llamacpp_response_format(kwargs["response_format"])
            response = await create(*args, **kwargs)
            for choice in getattr(response, "choices", None) or []:
                message = getattr(choice, "message", None)
                if message is not None and isinstance(message.content, str):
                    message.content = strict_json(message.content)
            return response

        client.chat.completions.create = create_for_llamacpp  # type: ignore[method-assign]
    return client


def make_judge(settings: JudgeSettings) -> Any:
    """Ragas's instructor LLM for the configured judge; None when `eval.judge.backend` is none."""
    if settings.backend == "none":
        return None
    if settings.backend not in ("vllm", "llamacpp-server"):
        raise ConfigError(f"eval.judge.backend: unknown backend {settings.backend!r}; "
                          "valid: none, vllm, llamacpp-server")
    if not settings.base_url:
        raise ConfigError(f"eval.judge.backend={settings.backend} needs eval.judge.base_url")
    enforce_offline()  # Ragas's usage tracking stays off
    import instructor
    from ragas.llms.base import InstructorLLM, InstructorModelArgs

    client = instructor.from_openai(_async_client(settings), mode=instructor.Mode.JSON_SCHEMA)
    return InstructorLLM(client=client, model=settings.model, provider="openai",
                         model_args=InstructorModelArgs(temperature=0.0, top_p=1.0, max_tokens=settings.max_tokens),
                         max_retries=JUDGE_RETRIES)


def ragas_embeddings(embedder: Embedder) -> Any:
    """Casewise's embedder as a Ragas embedding (no model download, the same vectors as retrieval)."""
    from ragas.embeddings.base import BaseRagasEmbedding

    class CasewiseRagasEmbedding(BaseRagasEmbedding):
        def __init__(self, inner: Embedder) -> None:
            super().__init__()
            self.inner = inner

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return [float(x) for x in self.inner.embed_queries([text])[0]]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return [[float(x) for x in v] for v in self.inner.embed_queries(list(texts))]

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    return CasewiseRagasEmbedding(embedder)


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


class RagasScorer:
    """Scores samples with the Ragas metrics the configuration allows; failures are counted, never raised."""

    def __init__(self, judge: JudgeSettings, embedder: Embedder | None, metrics: Sequence[str] | None = None,
                 relevancy_questions: int | None = None) -> None:
        self.judge_settings = judge
        self.embedder = embedder
        wanted = list(metrics) if metrics is not None else list(LLM_METRICS + NON_LLM_METRICS)
        unknown = [m for m in wanted if m not in LLM_METRICS + NON_LLM_METRICS]
        if unknown:
            raise ConfigError(f"unknown Ragas metric(s) {unknown}; valid: {', '.join(LLM_METRICS + NON_LLM_METRICS)}")
        self.uses_judge = judge.backend != "none"
        self.metrics = [m for m in wanted if m in NON_LLM_METRICS or self.uses_judge]
        if "answer_relevancy" in self.metrics and embedder is None:
            self.metrics.remove("answer_relevancy")
        # Ragas asks for 3 generated questions per answer; one is enough to rank a CPU judge's answers.
        self.relevancy_questions = relevancy_questions or (1 if judge.backend == "llamacpp-server" else 3)
        self.errors: dict[str, int] = {}

    @property
    def mode(self) -> str:
        return f"LLM judge ({self.judge_settings.backend}, {self.judge_settings.model})" if self.uses_judge \
            else "no judge configured: Ragas non-LLM metrics only"

    def check(self) -> None:
        """Fail fast, in one line, when a configured judge cannot be reached (before any question is asked)."""
        if not self.uses_judge:
            return
        import httpx

        url = f"{(self.judge_settings.base_url or '').rstrip('/')}/models"
        headers = {"Authorization": f"Bearer {self.judge_settings.api_key.get_secret_value() or 'EMPTY'}"}
        try:
            httpx.get(url, headers=headers, timeout=JUDGE_PROBE_TIMEOUT_S).raise_for_status()
        except httpx.HTTPError as exc:
            raise LLMError(f"the Ragas judge at {self.judge_settings.base_url} cannot be reached "
                           f"({type(exc).__name__}); start it, fix eval.judge.base_url, or set eval.judge.backend "
                           "= none for the non-LLM metrics") from None

    def score(self, samples: Sequence[RagasSample]) -> list[dict[str, float | None]]:
        """One dict per sample, metric name -> value (None: not applicable or the judge failed)."""
        if not samples or not self.metrics:
            return [{} for _ in samples]
        enforce_offline()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._score_all(list(samples)))
        # Called from code that runs an event loop (a notebook, Playwright, an async server): use a thread of our own.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="casewise-ragas") as pool:
            return pool.submit(asyncio.run, self._score_all(list(samples))).result()

    async def _score_all(self, samples: list[RagasSample]) -> list[dict[str, float | None]]:
        built = self._build()
        return [await self._score_one(s, built) for s in samples]

    def _build(self) -> dict[str, Any]:
        from ragas.metrics import IDBasedContextPrecision, IDBasedContextRecall

        built: dict[str, Any] = {}
        if "id_context_precision" in self.metrics:
            built["id_context_precision"] = IDBasedContextPrecision()
        if "id_context_recall" in self.metrics:
            built["id_context_recall"] = IDBasedContextRecall()
        if self.uses_judge:
            from ragas.metrics.collections import (
                AnswerRelevancy,
                ContextPrecisionWithoutReference,
                ContextPrecisionWithReference,
                ContextRecall,
                Faithfulness,
            )

            llm = make_judge(self.judge_settings)
            if "faithfulness" in self.metrics:
                built["faithfulness"] = Faithfulness(llm=llm)
            if "answer_relevancy" in self.metrics and self.embedder is not None:
                built["answer_relevancy"] = AnswerRelevancy(llm=llm, embeddings=ragas_embeddings(self.embedder),
                                                            strictness=self.relevancy_questions)
            if "context_precision" in self.metrics:
                built["context_precision"] = ContextPrecisionWithReference(llm=llm)
                built["context_precision/no_reference"] = ContextPrecisionWithoutReference(llm=llm)
            if "context_recall" in self.metrics:
                built["context_recall"] = ContextRecall(llm=llm)
        return built

    async def _score_one(self, s: RagasSample, built: dict[str, Any]) -> dict[str, float | None]:
        from ragas.dataset_schema import SingleTurnSample

        out: dict[str, float | None] = {}
        ids_ok = bool(s.retrieved_ids) and bool(s.reference_ids)
        for name in self.metrics:
            value: Any = None
            try:
                if name in NON_LLM_METRICS and ids_ok:
                    value = await built[name].single_turn_ascore(
                        SingleTurnSample(retrieved_context_ids=list[str | int](s.retrieved_ids),
                                         reference_context_ids=list[str | int](s.reference_ids)))
                elif name == "faithfulness" and s.response and s.contexts:
                    value = (await built[name].ascore(user_input=s.question, response=s.response,
                                                      retrieved_contexts=s.contexts)).value
                elif name == "answer_relevancy" and s.response:
                    value = (await built[name].ascore(user_input=s.question, response=s.response)).value
                elif name == "context_precision" and s.contexts:
                    if s.reference:
                        value = (await built[name].ascore(user_input=s.question, reference=s.reference,
                                                          retrieved_contexts=s.contexts)).value
                    elif s.response:
                        value = (await built["context_precision/no_reference"].ascore(
                            user_input=s.question, response=s.response, retrieved_contexts=s.contexts)).value
                elif name == "context_recall" and s.contexts and s.reference:
                    value = (await built[name].ascore(user_input=s.question, retrieved_contexts=s.contexts,
                                                      reference=s.reference)).value
            except Exception as exc:  # noqa: BLE001 - one bad judge reply must not sink the whole report
                # The exception text may quote the prompt (de-identified records): only its type is kept.
                self.errors[name] = self.errors.get(name, 0) + 1
                log.warning("Ragas %s failed for one question: %s", name, type(exc).__name__)
                value = None
            out[name] = _number(value)
        return out
