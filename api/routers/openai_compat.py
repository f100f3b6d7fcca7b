"""OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`, so the `openai` client works unchanged.

The last user message is the question (earlier turns are not used for retrieval). `casewise` answers with the
reasoning model when one is configured; `casewise-evidence` always answers from the evidence table.
Citations are in the text and, with the evidence table and flags, in the extra top-level field `casewise`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import ClinicalDep, ClinicianKey
from api.errors import CLINICAL_ERRORS, ERROR_RESPONSES, ApiError, error_payload
from api.schemas import (
    CasewiseExtra,
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    ChatResponseMessage,
    ModelCard,
    ModelList,
    Usage,
)
from casewise.errors import RequestError
from casewise.types import Answer

router = APIRouter(prefix="/v1", tags=["openai"], responses={**ERROR_RESPONSES, **CLINICAL_ERRORS})

MODELS = {"casewise": "answer with the reasoning model when configured, else from the evidence table",
          "casewise-evidence": "answer from the evidence table only, with the table in the message"}
CREATED = 1_764_000_000


def _question(req: ChatCompletionRequest) -> str:
    for msg in reversed(req.messages):
        if msg.role != "user":
            continue
        if isinstance(msg.content, str):
            return msg.content
        if msg.content:
            return "\n".join(p.text or "" for p in msg.content if p.type == "text")
    raise RequestError("messages", "needs at least one user message with text")


def _evidence_markdown(answer: Answer) -> str:
    rows = ["| treatment | cases | measure | median change | improved | months | case ids |",
            "|---|---|---|---|---|---|---|"]
    for r in answer.evidence.table:
        o = r.outcomes[0] if r.outcomes else None
        rows.append(f"| {r.treatment} | {r.n_cases} | {o.measure if o else '-'} | "
                    f"{f'{o.median_change:+.1f}' if o else '-'} | "
                    f"{f'{(o.improved_share or 0) * 100:.0f}%' if o else '-'} | {f'{o.months:g}' if o else '-'} | "
                    f"{', '.join(r.case_ids)} |")
    return "\n".join(rows) if answer.evidence.table else ""


def _footer(answer: Answer, model: str) -> str:
    cited = [c.case_id for c in answer.citations if c.valid]
    parts = []
    if model == "casewise-evidence" and answer.evidence.table:
        parts.append(_evidence_markdown(answer))
    label = "Casos citados" if answer.language == "es" else "Cited cases"
    parts.append(f"{label}: {', '.join(f'[{c}]' for c in cited) if cited else '-'}")
    return "\n\n" + "\n\n".join(parts)


def _extra(answer: Answer) -> CasewiseExtra:
    return CasewiseExtra(case_ids=[c.case_id for c in answer.citations if c.valid],
                         retrieved_case_ids=[c.case_id for c in answer.evidence.cases], evidence=answer.evidence,
                         flags=answer.flags, abstained=answer.abstained, mode=answer.mode, thinking=answer.thinking,
                         notice=answer.notice, plan=answer.plan, refused=answer.refused)


def _words(text: str) -> int:
    return len(text.split())


@router.get("/models", response_model=ModelList, summary="The models this server answers as")
def models(key: ClinicianKey) -> ModelList:
    return ModelList(data=[ModelCard(id=m, created=CREATED) for m in MODELS])


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"description": "a chat.completion, or with stream=true text/event-stream of "
                                             "chat.completion.chunk objects ending with `data: [DONE]`",
                              "content": {"text/event-stream": {"schema": {
                                  "type": "object", "required": ["data"],
                                  "properties": {"data": {"type": "string",
                                                          "description": "a chat.completion.chunk as JSON, "
                                                                         "or [DONE]"}}}}}}},
             summary="OpenAI-compatible chat completion with cited cases")
async def chat_completions(body: ChatCompletionRequest, key: ClinicianKey, clinical: ClinicalDep) -> Any:
    if body.model not in MODELS:
        raise ApiError(404, "model_not_found", f"no model {body.model!r}; available: {', '.join(MODELS)}")
    question = _question(body)
    opts = body.casewise
    kwargs: dict[str, Any] = {"filters": opts.filters if opts else None, "k": opts.k if opts else None,
                              "language": opts.language if opts else None, "actor": key.actor,
                              "evidence_only": body.model == "casewise-evidence"}
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        stream = await run_in_threadpool(lambda: clinical.ask_stream(question, **kwargs))
        return StreamingResponse(_chunks(stream, completion_id, created, body.model, _words(question)),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-store"})
    answer = await run_in_threadpool(lambda: clinical.ask(question, **kwargs))
    content = answer.text + _footer(answer, body.model)
    return ChatCompletion(id=completion_id, created=created, model=body.model,
                          choices=[ChatChoice(message=ChatResponseMessage(content=content))],
                          usage=Usage(prompt_tokens=_words(question), completion_tokens=_words(content),
                                      total_tokens=_words(question) + _words(content)),
                          casewise=_extra(answer))


def _chunks(stream: Iterator[str | Answer], cid: str, created: int, model: str, prompt_words: int) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False, default=str)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent = 0
    try:
        for item in stream:
            if isinstance(item, Answer):
                footer = _footer(item, model)
                sent += _words(footer)
                yield chunk({"content": footer})
                usage = {"prompt_tokens": prompt_words, "completion_tokens": sent,
                         "total_tokens": prompt_words + sent}
                yield chunk({}, "stop", usage=usage, casewise=_extra(item).model_dump(mode="json"))
            else:
                sent += _words(item)
                yield chunk({"content": item})
    except Exception as exc:  # noqa: BLE001 - headers are sent: report the failure in the stream, as OpenAI does
        _, payload = error_payload(exc)
        yield f"data: {json.dumps(payload)}\n\n"
    yield "data: [DONE]\n\n"
