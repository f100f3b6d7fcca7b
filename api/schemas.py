"""Request and response models of the HTTP API, kept apart from stored rows so nothing private leaks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from casewise.plan import QuestionPlan
from casewise.types import Answer, Case, Citation, Claim, Evidence, Filters, Language, SimilarCase

MAX_TEXT = 4000


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]
MAX_K = 50


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- ask / similar -----------------------------------------------------------------------------------------------
class AskRequest(_Request):
    question: str = Field(min_length=1, max_length=MAX_TEXT, description="free text, Spanish or English")
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=MAX_K, description="similar cases to use")
    language: Language | None = Field(None, description="answer language; default: the question's")
    stream: bool = Field(False, description="true: text/event-stream of `delta` events then one `answer` event")


class AnswerResponse(BaseModel):
    """The answer with its evidence, citations and checks."""

    question: str = Field(description="the question as searched (de-identified)")
    language: Language
    text: str
    thinking: str | None = None
    citations: list[Citation]
    claims: list[Claim]
    evidence: Evidence
    mode: Literal["evidence", "llm"]
    model: str | None = None
    abstained: bool
    flags: list[str]
    notice: str
    plan: QuestionPlan | None = Field(None, description="how the question was understood (intent, condition, "
                                      "profile, arms, scales, time points); the cohort tables are in evidence.cohort")
    refused: bool = Field(False, description="true: the question asked for patient identifiers and was refused")
    labels: dict[str, str] = Field(default_factory=dict, description="condition and treatment ids of the plan and "
                                   "the cohort, 'intent:<id>' and 'sex:<F|M>' -> their names in the answer's language")

    @classmethod
    def of(cls, answer: Answer) -> AnswerResponse:
        from casewise.general_terms import term_label
        from reasoning.evidence_answer import INTENT_WORDS, SEX_WORDS

        ids: list[str] = []
        names: dict[str, str] = {}
        if answer.plan is not None:
            p = answer.plan
            ids += (p.condition_ids + p.unknown_conditions + p.treatments + p.unknown_treatments + p.prior_treatments
                    + p.exclusions)
            for intent in [p.intent, *p.also]:
                names[f"intent:{intent}"] = INTENT_WORDS[answer.language][intent]
            if p.profile.sex:
                names[f"sex:{p.profile.sex}"] = SEX_WORDS[answer.language][p.profile.sex]
        for cohort in (answer.evidence.cohort, answer.evidence.nearest_cohort):
            if cohort is not None:
                ids += [a.treatment for a in cohort.arms]
        ids += [r.treatment for r in answer.evidence.table]
        names |= {i: term_label(i, answer.language) for i in dict.fromkeys(ids)}
        return cls.model_validate({**answer.model_dump(), "labels": names})


class SimilarRequest(_Request):
    description: str | None = Field(None, min_length=1, max_length=MAX_TEXT, description="free-text patient description")
    case_id: str | None = Field(None, min_length=1, max_length=64, description="an existing case id instead")
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=MAX_K)


class SimilarResponse(BaseModel):
    cases: list[SimilarCase]


class CaseResponse(BaseModel):
    """A de-identified case."""

    case: Case


class TermOut(BaseModel):
    id: str = Field(description="what a filter takes ('knee_oa', 'prp')")
    label_es: str
    label_en: str
    icd10: str | None = Field(None, description="diagnoses: the ICD-10 category or code it maps to")
    category: str | None = Field(None, description="treatments: injection, biologic, physical, surgery")


class VocabularyResponse(BaseModel):
    """The clinic's vocabulary (built-in terms with the clinic's file merged over them): what the filters offer."""

    diagnoses: list[TermOut]
    treatments: list[TermOut]


# -- documents / index -------------------------------------------------------------------------------------------
class DocumentPublic(BaseModel):
    """A manifest entry as an admin sees it (no extracted facts, no chunk ids)."""

    doc_id: str
    source_path: str
    doc_type: str
    status: Literal["pending", "indexed", "quarantined"] | str
    quarantine_reason: str | None = None
    case_id: str | None = None
    chunks: int = 0
    updated_at: UtcDateTime | None = None


class DocumentList(BaseModel):
    documents: list[DocumentPublic]
    counts: dict[str, int] = Field(description="documents by status")


class DeleteResponse(BaseModel):
    deleted: bool
    id: str


class ReindexRequest(_Request):
    paths: list[str] | None = Field(None, max_length=50,
                                    description="folders to scan; default: the configured sources and the uploads")
    rebuild: bool = Field(False, description="rebuild everything into a new collection, then switch to it atomically "
                                             "(after changing the embedding model or chunking); queries keep working")


class BackupRequest(_Request):
    path: str = Field(..., max_length=4096, description="absolute path on the server: a .tar.gz file or a folder")


class Job(BaseModel):
    job_id: str
    kind: str
    state: Literal["queued", "running", "done", "failed"]
    created_at: UtcDateTime
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    report: dict[str, Any] | None = None
    error: str | None = None


class IndexStatus(BaseModel):
    documents: dict[str, int]
    cases: int
    chunks: int
    backend: str
    collection: str
    current_job: Job | None = None
    recent_jobs: list[Job]


# -- eval / audit / keys / health ----------------------------------------------------------------------------------
class AuditVerify(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None = None


class AuditEntry(BaseModel):
    seq: int
    at: UtcDateTime
    actor: str
    action: str
    query: str
    case_ids: list[str]
    detail: dict[str, Any]
    hash: str


class AuditList(BaseModel):
    entries: list[AuditEntry]


class KeyCreate(_Request):
    name: str = Field(min_length=1, max_length=64)
    role: Literal["clinician", "admin"]


class KeyPublic(BaseModel):
    key_id: str
    name: str
    role: Literal["clinician", "admin"]
    created_at: UtcDateTime | None = None
    revoked: bool = False


class KeyCreated(KeyPublic):
    key: str = Field(description="the API key; shown once, not stored")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str] = Field(description="component -> 'ok', 'not configured' or what is wrong")


# -- OpenAI-compatible chat ----------------------------------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[ContentPart] | None = None


class CasewiseOptions(_Request):
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=MAX_K)
    language: Language | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=128)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool | None = False
    casewise: CasewiseOptions | None = Field(None, description="Casewise extension: filters, k, language")


class ChatResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatResponseMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CasewiseExtra(BaseModel):
    """Citations and checks, beside the OpenAI fields."""

    case_ids: list[str] = Field(description="cited case ids (only ones that were retrieved)")
    retrieved_case_ids: list[str]
    evidence: Evidence
    flags: list[str]
    abstained: bool
    mode: Literal["evidence", "llm"]
    thinking: str | None = None
    notice: str = ""
    plan: QuestionPlan | None = None
    refused: bool = False


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    casewise: CasewiseExtra


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "casewise"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
