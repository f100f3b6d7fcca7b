"""Domain types shared by every stage. Text in these objects is always de-identified, except `RawDocument`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from casewise.plan import Cohort, QuestionPlan

Language = Literal["es", "en"]
DocType = Literal["pdf", "docx", "txt", "md", "html", "eml", "csv", "xlsx"]


class Section(BaseModel):
    """A titled part of a document, as found by the parser."""

    title: str = ""
    text: str


class RawDocument(BaseModel):
    """A parsed source file before de-identification. Never stored, embedded, logged or sent to a model."""

    doc_id: str
    source_path: str
    doc_type: DocType
    content_hash: str
    sections: list[Section]
    patient_ref: str | None = Field(None, description="the clinic's record number, before pseudonymization")


class Treatment(BaseModel):
    name: str = Field(description="canonical id from the treatment vocabulary, e.g. 'prp'")
    label: str = Field("", description="as written by the clinic")
    date: dt.date | None = None
    dose: str | None = None
    sessions: int | None = None
    side: str | None = None


class Outcome(BaseModel):
    measure: str = Field(description="VAS, WOMAC, KOOS ...")
    value: float
    months: float = Field(description="time point in months after the treatment; 0 = baseline")
    treatment: str | None = Field(None, description="canonical treatment id this follow-up belongs to")


class Diagnosis(BaseModel):
    name: str = Field(description="canonical id, e.g. 'knee_oa'")
    label: str = ""
    icd10: str | None = None
    side: str | None = None
    severity: str | None = None


class AdverseEventLink(BaseModel):
    """An adverse event and the treatment it followed, as the records tie them."""

    name: str = Field(description="as written, lower case (e.g. 'derrame', 'post_injection_flare')")
    treatment: str | None = Field(None, description="canonical id of the treatment it followed; None: no record says")
    date: dt.date | None = Field(None, description="date of the note or table row that reports it (de-identified)")


class Code(BaseModel):
    """An ICD-10 code found in a note, with the words that support it and how sure the coder is."""

    system: Literal["ICD-10-CM", "ICD-10-PCS"] = Field(description="diagnoses: ICD-10-CM; procedures: ICD-10-PCS")
    kind: Literal["diagnosis", "procedure"]
    code: str = Field(description="lower case, dotted as CodiEsp writes it: 'm17.11', 'r52'; procedures 'bw03zzz'")
    label: str = Field("", description="the code's description in the note's language")
    text: str = Field("", description="the supporting words as written in the (de-identified) note")
    start: int | None = Field(None, description="character offsets of the supporting words in the note")
    end: int | None = None
    confidence: float = Field(ge=0.0, le=1.0, description="estimated precision, calibrated on held-out notes")
    side: Literal["left", "right", "bilateral"] | None = None
    source: Literal["predicted", "recorded"] = Field(
        "predicted", description="predicted: found in a note by the ICD-10 coder; recorded: in the clinic's coded table")

    @property
    def category(self) -> str:
        """The 3-character category ('m17' of 'm17.11')."""
        return self.code[:3]


class Case(BaseModel):
    """One patient episode assembled from every document and table row of that patient."""

    case_id: str = Field(description="keyed pseudonym of the patient, e.g. PT-3F9A...")
    sex: Literal["F", "M"] | None = None
    age_band: str | None = Field(None, description="e.g. '50-59', '90+'")
    language: Language | None = None
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    treatments: list[Treatment] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    adverse_events: list[str] = Field(default_factory=list)
    adverse_event_links: list[AdverseEventLink] = Field(
        default_factory=list, description="each adverse event with the treatment it followed (cases indexed before "
                                          "this field have none: their events are tied when answering)")
    codes: list[Code] = Field(default_factory=list, description="ICD-10 diagnosis and procedure codes, best first")
    doc_ids: list[str] = Field(default_factory=list)
    summary: str = Field("", description="de-identified one-paragraph summary used for display and embedding")


class Document(BaseModel):
    """A de-identified document: what may be stored and embedded."""

    doc_id: str
    source_path: str
    doc_type: DocType
    content_hash: str
    case_id: str | None
    language: Language | None = None
    sections: list[Section]


class Chunk(BaseModel):
    chunk_id: str
    doc_id: str
    case_id: str | None
    position: int
    text: str
    section: str = ""
    date: dt.date | None = None
    language: Language | None = None
    diagnoses: list[str] = Field(default_factory=list)
    treatments: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list, description="the case's ICD-10 codes with every shorter code "
                             "down to the category ('m17', 'm17.1', 'm17.11'), for filters")
    sex: str | None = None
    age_band: str | None = None


class MatchedChunk(BaseModel):
    chunk_id: str
    doc_id: str
    text: str
    section: str = ""
    score: float


class SimilarCase(BaseModel):
    case_id: str
    score: float = Field(description="fused case score (higher is more similar)")
    similarity: float = Field(description="best dense cosine between the query and the case's chunks")
    case: Case | None = None
    chunks: list[MatchedChunk] = Field(default_factory=list)
    why: list[str] = Field(default_factory=list, description="what matched: shared diagnoses, treatments, terms")


class OutcomeSummary(BaseModel):
    measure: str
    n: int
    median_change: float = Field(description="follow-up minus baseline; negative = less pain for VAS/WOMAC")
    iqr: tuple[float, float] | None = None
    improved_share: float | None = Field(None, description="share reaching the minimal clinically important difference")
    months: float


class EvidenceRow(BaseModel):
    """What was done (one treatment) for the similar cases and how it turned out."""

    treatment: str
    n_cases: int
    outcomes: list[OutcomeSummary] = Field(default_factory=list)
    follow_up_months: float | None = None
    adverse_events: int = 0
    case_ids: list[str] = Field(default_factory=list)


class Evidence(BaseModel):
    query: str
    cases: list[SimilarCase]
    table: list[EvidenceRow]
    too_little_evidence: bool = False
    note: str = ""
    plan: QuestionPlan | None = Field(None, description="how the question was understood")
    cohort: Cohort | None = Field(None, description="every matching case of the store, tabulated per treatment arm")
    nearest_cohort: Cohort | None = Field(
        None, description="when no case has what was asked: the asked condition's cases without the asked treatments "
                          "or prior treatments, shown as the nearest recorded, never as what was asked")


class Citation(BaseModel):
    case_id: str
    valid: bool = Field(True, description="False when the model cited a case that was not retrieved")


class Claim(BaseModel):
    text: str
    case_ids: list[str] = Field(default_factory=list)
    supported: bool | None = None
    support: float | None = None


class Answer(BaseModel):
    question: str
    language: Language
    text: str = Field(description="the final response shown to the user")
    thinking: str | None = Field(None, description="the model's reasoning, kept for audit and shown on request")
    citations: list[Citation] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    evidence: Evidence
    mode: Literal["evidence", "llm"] = "evidence"
    model: str | None = None
    abstained: bool = False
    flags: list[str] = Field(default_factory=list)
    notice: str = ""
    plan: QuestionPlan | None = Field(None, description="how the question was understood")
    refused: bool = Field(False, description="True: the question asked for patient identifiers and was refused")


class Filters(BaseModel):
    """Restrict similar-case search to cases with these properties (all optional; lists mean 'any of')."""

    sex: Literal["F", "M"] | None = None
    age_bands: list[str] = Field(default_factory=list, max_length=20)
    diagnoses: list[str] = Field(default_factory=list, max_length=50)
    treatments: list[str] = Field(default_factory=list, max_length=50)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    language: Language | None = None


class CaseFacts(BaseModel):
    """What one document says about one case (already de-identified)."""

    sex: str | None = None
    age: int | str | None = None
    birth_year: int | None = Field(None, description="from a demographics table without visit dates (year only)")
    language: Language | None = None
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    treatments: list[Treatment] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    adverse_events: list[str] = Field(default_factory=list)
    adverse_event_links: list[AdverseEventLink] = Field(default_factory=list)
    codes: list[Code] = Field(default_factory=list)


def age_band(age: int | str | None) -> str | None:
    """Ten-year band of an age; 90 and over is one band (an age over 89 identifies)."""
    if age is None:
        return None
    if isinstance(age, str):
        return "90+" if age.startswith("90") else None
    if age >= 90:
        return "90+"
    lo = (age // 10) * 10
    return f"{lo}-{lo + 9}"
