"""What extraction returns (`NoteExtraction`) and what an LLM must produce (`LLMNote`, a JSON schema).

The result types extend the kernel's domain types (Diagnosis, Treatment, Outcome) with what a data-quality review
needs: character spans into the de-identified text, the treatment category, a plausibility flag, and which backend
produced the result (with the reason when the LLM's output was rejected and the rules were used instead).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from casewise.types import Diagnosis, Language, Outcome, Treatment

Side = Literal["left", "right", "bilateral"]
Span = tuple[int, int]


class DiagnosisItem(Diagnosis):
    span: Span | None = Field(None, description="[start, end) in the de-identified text")


class TreatmentItem(Treatment):
    category: str | None = Field(None, description="injection, biologic, physical, surgery (vocabulary)")
    volume_ml: float | None = Field(None, description="injected volume in ml, when written")
    span: Span | None = None


class OutcomeItem(Outcome):
    plausible: bool = Field(True, description="False when the value is outside the measure's range (kept for review)")
    span: Span | None = None


class AdverseEventItem(BaseModel):
    name: str = Field(description="as written, lower case (e.g. 'derrame', 'post-injection flare')")
    treatment: str | None = None
    span: Span | None = None


class NoteExtraction(BaseModel):
    """Everything one de-identified note says, in canonical form."""

    language: Language | None = None
    sex: Literal["F", "M"] | None = None
    age: int | str | None = None
    time_point_months: float | None = Field(None, description="0 = first visit, N = an N-month follow-up")
    diagnoses: list[DiagnosisItem] = Field(default_factory=list)
    treatments: list[TreatmentItem] = Field(default_factory=list)
    outcomes: list[OutcomeItem] = Field(default_factory=list)
    adverse_events: list[AdverseEventItem] = Field(default_factory=list)
    follow_up_dates: list[dt.date] = Field(default_factory=list, description="dates of later visits the note plans")
    dates: list[dt.date] = Field(default_factory=list, description="every date written in the note (de-identified)")
    backend: Literal["rules", "llm"] = "rules"
    fallback: str | None = Field(None, description="why the LLM's output was not used (then backend is 'rules')")


# --------------------------------------------------------------------------- what the LLM must answer


MAX_ITEMS = 20  # caps each list in the schema, so a looping small model still ends its JSON


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMDiagnosis(_Strict):
    name: str = Field(description="the diagnosis, e.g. 'knee osteoarthritis' or 'gonartrosis'")
    icd10: str | None = Field(None, description="ICD-10 code if written or certain, e.g. 'M17.1'")
    side: Side | None = None
    severity: str | None = Field(None, description="e.g. 'KL2' for Kellgren-Lawrence grade 2")


class LLMTreatment(_Strict):
    name: str = Field(description="treatment or procedure, e.g. 'PRP', 'hyaluronic acid', 'physiotherapy'")
    dose: str | None = Field(None, description="dose or volume with unit, e.g. '4 ml', '40 mg'")
    sessions: int | None = Field(None, ge=1, le=200)
    date: str | None = Field(None, description="date given, as written")
    side: Side | None = None


class LLMOutcome(_Strict):
    measure: Literal["VAS", "WOMAC", "KOOS", "LEQUESNE", "ROM", "RTA"]
    value: float
    months: float = Field(ge=0, le=240, description="months after the treatment; 0 = before it (baseline)")
    treatment: str | None = Field(None, description="the treatment this score follows")


class LLMNote(_Strict):
    """The JSON object the LLM is constrained to produce for one note.

    Every list is required (an empty list is a valid answer): with optional keys, grammar-constrained small models
    answer '{}'.
    """

    diagnoses: list[LLMDiagnosis] = Field(max_length=MAX_ITEMS)
    treatments: list[LLMTreatment] = Field(max_length=MAX_ITEMS)
    outcomes: list[LLMOutcome] = Field(max_length=MAX_ITEMS)
    adverse_events: list[str] = Field(max_length=MAX_ITEMS)
    follow_up_dates: list[str] = Field(max_length=MAX_ITEMS)
