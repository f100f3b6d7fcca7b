"""Clinician routes: ask (JSON or SSE), similar cases, one de-identified case."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import ClinicalDep, ClinicianKey
from api.errors import CLINICAL_ERRORS, ERROR_RESPONSES
from api.schemas import (
    AnswerResponse,
    AskRequest,
    CaseResponse,
    SimilarRequest,
    SimilarResponse,
    TermOut,
    VocabularyResponse,
)
from api.services.clinical import sse, sse_error
from casewise.types import Answer

router = APIRouter(prefix="/v1", tags=["clinical"], responses={**ERROR_RESPONSES, **CLINICAL_ERRORS})

CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
CASE_REF = "#/paths/~1v1~1cases~1{case_id}/get"
SIMILAR_LINKS: dict[int | str, dict[str, Any]] = {200: {"links": {"GetCase": {
    "operationRef": CASE_REF, "parameters": {"case_id": "$response.body#/cases/0/case_id"},
    "description": "read the most similar case"}}}}

ASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the answer; with stream=true a text/event-stream of `delta` events ({text}), then one "
                         "`answer` event (the same object as the JSON answer), or one `error` event",
          "content": {"text/event-stream": {"schema": {
              "type": "object", "required": ["data"],
              "properties": {"event": {"type": "string", "enum": ["delta", "answer", "error"]},
                             "data": {"type": "string", "description": "JSON: {text}, an answer, or {error}"}}}}},
          "links": {"GetCitedCase": {"operationRef": CASE_REF,
                                     "parameters": {"case_id": "$response.body#/citations/0/case_id"},
                                     "description": "read the first cited case (JSON answers)"}}},
}


def _events(stream: Iterator[str | Answer]) -> Iterator[str]:
    try:
        for item in stream:
            if isinstance(item, Answer):
                yield sse(AnswerResponse.of(item).model_dump(mode="json"), "answer")
            else:
                yield sse({"text": item}, "delta")
    except Exception as exc:  # noqa: BLE001 - headers are sent: the failure travels as an event
        yield sse_error(exc)


@router.post("/ask", response_model=AnswerResponse, responses=ASK_RESPONSES,
             summary="Answer a question from similar past cases, citing them")
async def ask(body: AskRequest, key: ClinicianKey, clinical: ClinicalDep) -> Any:
    kwargs: dict[str, Any] = {"filters": body.filters, "k": body.k, "language": body.language, "actor": key.actor}
    if body.stream:
        stream = await run_in_threadpool(lambda: clinical.ask_stream(body.question, **kwargs))
        return StreamingResponse(_events(stream), media_type="text/event-stream", headers=SSE_HEADERS)
    answer = await run_in_threadpool(lambda: clinical.ask(body.question, **kwargs))
    return AnswerResponse.of(answer)


@router.post("/cases/similar", response_model=SimilarResponse, responses=SIMILAR_LINKS, summary="The most similar past cases")
def similar(body: SimilarRequest, key: ClinicianKey, clinical: ClinicalDep) -> SimilarResponse:
    return SimilarResponse(cases=clinical.similar(body.description, body.case_id, filters=body.filters, k=body.k,
                                                  actor=key.actor))


@router.get("/cases/{case_id}", response_model=CaseResponse, summary="One de-identified case")
def get_case(case_id: CaseId, key: ClinicianKey, clinical: ClinicalDep) -> CaseResponse:
    return CaseResponse(case=clinical.case(case_id, key.actor))


@router.get("/vocabulary", response_model=VocabularyResponse, summary="The diagnoses and treatments filters offer")
def vocabulary(key: ClinicianKey, clinical: ClinicalDep) -> VocabularyResponse:
    vocab = clinical.vocabulary()
    return VocabularyResponse(
        diagnoses=[TermOut(id=t.id, label_es=t.label_es, label_en=t.label_en, icd10=t.icd10) for t in vocab.diagnoses],
        treatments=[TermOut(id=t.id, label_es=t.label_es, label_en=t.label_en, category=t.category)
                    for t in vocab.treatments])
