"""Ground-truth types of the synthetic clinic, written to and read from ``ground_truth.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["es", "en"]
Sex = Literal["F", "M"]
Measure = Literal["vas", "womac", "koos_pain"]
PhiKind = Literal[
    "patient_name",
    "relative_name",
    "doctor_name",
    "nhc",
    "national_id",
    "phone",
    "email",
    "address",
    "birth_date",
    "visit_date",
]

GROUND_TRUTH_FILE = "ground_truth.json"
# 2: every outcome says where it is written (Outcome.recorded_in).
SCHEMA_VERSION = 2


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outcome(_Frozen):
    """One outcome score at one time point (months after the treatment date; 0 is baseline)."""

    measure: Measure
    time_point_months: int
    value: float
    recorded_in: list[str] | None = Field(
        default=None,
        description="every document path, or table row 'path#row' (0-based, header excluded, as table_rows), whose "
        "text states this value; empty = written nowhere (drawn, never recorded); null = not tracked (schema 1)",
    )


class Treatment(_Frozen):
    """One treatment episode as designed (canonical id, not the clinic's spelling)."""

    treatment_id: str
    date: str = Field(description="ISO date of the (first) session")
    dose: str | None = Field(default=None, description="canonical dose text, e.g. '5 ml' or '40 mg'")
    product: str | None = None
    sessions: int | None = None
    outcomes: list[Outcome]
    adverse_events: list[str] = Field(description="canonical ids: post_injection_flare, effusion; empty list = none")
    table_label: str | None = Field(default=None, description="the clinic's own spelling in the table row, if any")

    def value(self, measure: Measure, months: int) -> float | None:
        """Return the score for ``measure`` at ``months``, or None when not recorded."""
        for outcome in self.outcomes:
            if outcome.measure == measure and outcome.time_point_months == months:
                return outcome.value
        return None


class Diagnosis(_Frozen):
    """The episode's diagnosis."""

    diagnosis_id: str
    icd10: str
    side: Literal["left", "right", "bilateral"]
    severity: int | None = Field(default=None, description="Kellgren-Lawrence grade 1-4 for osteoarthritis, else null")
    effect_group: str = Field(description="row group of the effects table that generated the outcomes")


class PhiItem(_Frozen):
    """One identifying string exactly as it is written in at least one document."""

    kind: PhiKind
    text: str


class TableRowRef(_Frozen):
    """Where a treatment episode appears in a structured table (row is 0-based, header excluded)."""

    path: str
    row: int
    treatment_index: int


class Patient(_Frozen):
    """One synthetic patient, everything the generator decided about them."""

    patient_id: str
    nhc: str
    sex: Sex
    age: int = Field(description="age in whole years at the first visit")
    birth_date: str
    first_visit: str
    language: Language
    diagnosis: Diagnosis
    treatments: list[Treatment]
    documents: list[str] = Field(description="paths of the patient's own files, relative to the clinic root")
    table_rows: list[TableRowRef]
    phi: list[PhiItem]


class EffectRow(_Frozen):
    """Designed mean change in VAS pain (negative = better) for one diagnosis group and treatment."""

    group: str
    diagnosis_id: str
    severity_min: int | None = None
    severity_max: int | None = None
    treatment_id: str
    vas_change: dict[int, float] = Field(description="months -> mean VAS change from baseline")


class EffectsTable(_Frozen):
    """The design that all outcomes were drawn from."""

    rows: list[EffectRow]
    age_threshold: int
    age_factor: float = Field(description="multiplier on every change for patients at or above age_threshold")
    vas_noise_sd: float
    womac_per_vas_point: float
    koos_per_vas_point: float

    def change(self, group: str, treatment_id: str, months: int) -> float | None:
        """Return the designed mean VAS change, or None when the pair is not in the design."""
        for row in self.rows:
            if row.group == group and row.treatment_id == treatment_id:
                return row.vas_change.get(months)
        return None


class QuestionProfile(_Frozen):
    """The patient profile a question describes, and how 'similar' patients are matched."""

    diagnosis_id: str
    effect_group: str
    age: int
    sex: Sex | None = None
    side: Literal["left", "right", "bilateral"] | None = None
    severity: int | None = None
    baseline_vas: float | None = None
    match_severity_min: int | None = None
    match_severity_max: int | None = None
    match_age_min: int
    match_age_max: int


class Question(_Frozen):
    """An evaluation question with its designed answer."""

    question_id: str
    language: Language
    text: str
    profile: QuestionProfile
    time_point_months: int
    expected_better: list[str]
    expected_worse: list[str]
    matching_patient_ids: list[str]
    matching_nhcs: list[str]


class GroundTruth(_Frozen):
    """Everything ``generate_clinic`` decided, for tests, the demo and evaluation."""

    schema_version: int = SCHEMA_VERSION
    seed: int
    patient_count: int
    generator: str = "casewise-synth"
    tables: dict[str, str] = Field(description="table path -> language of its headers")
    vocabulary: dict[str, list[str]] = Field(description="treatment id -> every clinic spelling used in tables")
    effects: EffectsTable
    patients: list[Patient]
    questions: list[Question]


def load_ground_truth(path: Path | str) -> GroundTruth:
    """Load ``ground_truth.json`` (or a clinic folder containing it)."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUND_TRUTH_FILE
    return GroundTruth.model_validate_json(path.read_text(encoding="utf-8"))
