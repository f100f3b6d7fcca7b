"""How a question was read (`QuestionPlan`) and what the whole case store holds for it (`Cohort`).

Kernel types: the planner and the cohort queries (retrieval/) produce them, the answer writers (reasoning/) render
them, and every front end returns them with the answer, so a clinician sees how the question was understood.
Everything here holds vocabulary ids, numbers and case pseudonyms: never a patient identifier.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Intent = Literal["similar_cases", "what_worked", "compare", "count", "list", "regimen", "adverse_events",
                 "outcome_over_time", "identifier_request", "too_vague"]
INTENTS: tuple[str, ...] = ("similar_cases", "what_worked", "compare", "count", "list", "regimen", "adverse_events",
                            "outcome_over_time", "identifier_request", "too_vague")
Side = Literal["left", "right", "bilateral"]


class Condition(BaseModel):
    """A condition the question names, as a vocabulary id with its ICD-10 code."""

    id: str = Field(description="canonical diagnosis id of the clinic vocabulary, e.g. 'knee_oa'")
    icd10: str | None = None


class PatientProfile(BaseModel):
    """The patient (or group of patients) the question describes."""

    age: int | None = Field(None, description="a described patient's age")
    age_min: int | None = Field(None, description="an age range the question asks for ('over 60' -> 61)")
    age_max: int | None = None
    sex: Literal["F", "M"] | None = None
    side: Side | None = None
    severity: int | None = Field(None, description="Kellgren-Lawrence grade 1-4")
    duration_months: float | None = Field(None, description="how long the symptoms have lasted")
    bmi: float | None = None
    comorbidities: list[str] = Field(default_factory=list)
    single_patient: bool = Field(False, description="True: one patient is described ('woman of 58'); their sex, "
                                 "side and grade order similar cases but do not restrict the cohort")


class QuestionPlan(BaseModel):
    """A question as Casewise understood it: what is asked (intent), about whom, comparing what, measured how."""

    question: str = Field(description="the question as planned (de-identified)")
    language: Literal["es", "en"] = "es"
    intent: Intent
    also: list[Intent] = Field(default_factory=list, description="what else a question of several parts asks "
                               "('how many … and what adverse events?'), answered after the first over the same cases")
    profile: PatientProfile = Field(default_factory=PatientProfile)
    conditions: list[Condition] = Field(default_factory=list)
    unknown_conditions: list[str] = Field(default_factory=list,
                                          description="conditions asked about that the clinic vocabulary lacks")
    treatments: list[str] = Field(default_factory=list, description="treatment arms (vocabulary ids)")
    unknown_treatments: list[str] = Field(default_factory=list, description="treatments the vocabulary lacks")
    prior_treatments: list[str] = Field(default_factory=list, description="given before (failed or previous)")
    exclusions: list[str] = Field(default_factory=list, description="treatments excluded, refused or contraindicated")
    measures: list[str] = Field(default_factory=list, description="outcome measures (vocabulary ids)")
    unrecorded_measures: list[str] = Field(default_factory=list,
                                           description="scales asked about that the clinic does not record")
    time_points: list[float] = Field(default_factory=list, description="months after the treatment")
    sessions: int | None = Field(None, description="number of injections or sessions asked about")
    identifiers: list[str] = Field(default_factory=list, description="kinds of patient identifier requested")
    missing: list[str] = Field(default_factory=list, description="what a too-vague question lacks")
    planner: str = "rules"
    fallback: str | None = Field(None, description="why another planner's plan was not used")

    @property
    def condition_ids(self) -> list[str]:
        return [c.id for c in self.conditions]


class MeasureStat(BaseModel):
    """Change from baseline on one measure at one time point, over the cases of one arm."""

    measure: str
    months: float
    n: int
    median_change: float
    iqr: tuple[float, float] | None = None
    median_value: float | None = Field(None, description="median score at the time point")
    mcid_share: float | None = Field(None, description="share reaching the minimal clinically important difference")
    mcid: float | None = None
    case_ids: list[str] = Field(default_factory=list)


class AdverseEvent(BaseModel):
    """One adverse event: the case, the treatment it followed, and the de-identified sentence that reports it."""

    case_id: str
    event: str
    treatment: str | None = None
    sentence: str = ""


class Regimen(BaseModel):
    """How a treatment was given: dose and sessions, counted over the arm's cases."""

    doses: dict[str, int] = Field(default_factory=dict, description="dose as recorded -> number of cases")
    sessions: dict[str, int] = Field(default_factory=dict, description="number of sessions -> number of cases")
    median_sessions: float | None = None
    recorded: int = Field(0, description="cases with a dose or a number of sessions recorded")


class Arm(BaseModel):
    """One treatment over the cohort: who received it, how, and how it turned out."""

    treatment: str
    n_cases: int
    case_ids: list[str] = Field(default_factory=list)
    stats: list[MeasureStat] = Field(default_factory=list)
    regimen: Regimen = Field(default_factory=Regimen)
    n_adverse: int = Field(0, description="cases with an adverse event after this treatment")
    adverse_events: list[AdverseEvent] = Field(default_factory=list)

    def stat(self, measure: str, months: float) -> MeasureStat | None:
        return next((s for s in self.stats if s.measure == measure and s.months == months), None)


class NotFound(BaseModel):
    """Something the question asked for that the records do not hold."""

    kind: Literal["condition", "treatment", "measure", "time_point", "cases"]
    value: str
    recorded: list[str] = Field(default_factory=list, description="what the records do hold instead")


class Cohort(BaseModel):
    """Every case of the store that matches the plan (not only the most similar ones), tabulated per arm."""

    total_cases: int = Field(description="cases in the store")
    n_cases: int = Field(description="cases matching the conditions, profile, prior treatments and exclusions")
    case_ids: list[str] = Field(default_factory=list)
    arms: list[Arm] = Field(default_factory=list)
    not_found: list[NotFound] = Field(default_factory=list)
    measures_recorded: list[str] = Field(default_factory=list)
    time_points_recorded: list[float] = Field(default_factory=list)

    @property
    def count(self) -> int:
        """The answer to 'how many': cases with any asked treatment, else every matching case."""
        return self.n_cases

    def arm(self, treatment: str) -> Arm | None:
        return next((a for a in self.arms if a.treatment == treatment), None)
