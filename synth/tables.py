"""Structured treatment tables: a Spanish CSV (';' and decimal comma) and an English XLSX."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

from openpyxl import Workbook

from synth.cohort import PatientPlan, TreatmentPlan
from synth.files import FIXED_DATETIME, normalize_office_zip
from synth.model import Measure
from synth.people import PhiRecorder
from synth.recorded import OutcomeRecorder, outcome_value, table_place
from synth.vocab import TABLE_LABELS
from synth.wording import fmt_date, num

CSV_PATH = "tables/tratamientos.csv"
XLSX_PATH = "tables/treatments.xlsx"

CSV_HEADERS: tuple[str, ...] = (
    "NHC",
    "Paciente",
    "DNI",
    "Fecha nacimiento",
    "Sexo",
    "Teléfono",
    "Fecha",
    "Diagnóstico",
    "CIE-10",
    "Lado",
    "Grado KL",
    "Tratamiento",
    "Dosis",
    "Sesiones",
    "EVA basal",
    "EVA 3m",
    "EVA 6m",
    "EVA 12m",
    "WOMAC basal",
    "WOMAC 12m",
    "KOOS dolor basal",
    "KOOS dolor 12m",
    "Efectos adversos",
    "Médico",
)
XLSX_HEADERS: tuple[str, ...] = (
    "MRN",
    "Patient",
    "ID number",
    "DOB",
    "Sex",
    "Phone",
    "Date",
    "Diagnosis",
    "ICD-10",
    "Side",
    "KL grade",
    "Treatment",
    "Dose",
    "Sessions",
    "VAS baseline",
    "VAS 3m",
    "VAS 6m",
    "VAS 12m",
    "WOMAC baseline",
    "WOMAC 12m",
    "KOOS pain baseline",
    "KOOS pain 12m",
    "Adverse events",
    "Physician",
)

_AE_ES = {"post_injection_flare": "Dolor post-infiltración", "effusion": "Derrame"}
_AE_EN = {"post_injection_flare": "Post-injection flare", "effusion": "Effusion"}
_SIDE_ES = {"left": "Izq.", "right": "Dcha.", "bilateral": "Bilateral"}
_SIDE_EN = {"left": "Left", "right": "Right", "bilateral": "Bilateral"}


@dataclass
class TableEntry:
    """One treatment episode destined for a table row."""

    plan: PatientPlan
    treatment_index: int
    label: str
    phi: PhiRecorder
    outcomes: OutcomeRecorder

    @property
    def treatment(self) -> TreatmentPlan:
        """The episode's treatment."""
        return self.plan.treatments[self.treatment_index]

    def score(self, measure: Measure, months: int, where: str) -> float | None:
        """The score for one cell (None = empty cell), recorded as written in the row ``where`` when there is one."""
        value = outcome_value(self.treatment, measure, months)
        if value is not None:
            self.outcomes.mark(self.treatment_index, measure, months, where)
        return value


def choose_label(rng: random.Random, treatment_id: str, language: str) -> str:
    """The clinic's spelling for a treatment: mostly the usual one, sometimes another."""
    labels = TABLE_LABELS[treatment_id][language]
    return labels[0] if rng.random() < 0.55 else rng.choice(labels)


def _dose_es(t: TreatmentPlan) -> str:
    if t.treatment_id == "eswt":
        return f"{t.pulses} imp {num(t.energy or 0, 'es')} mJ/mm2"
    return (t.dose or "").replace(".", ",")


def _cell_es(value: float | None) -> str:
    return num(value, "es") if value is not None else ""


def _sort_key(entry: TableEntry) -> tuple[str, str]:
    return (entry.treatment.date.isoformat(), entry.plan.nhc)


def render_csv(entries: list[TableEntry]) -> tuple[bytes, list[TableEntry]]:
    """Render the Spanish CSV; return its bytes and the entries in row order."""
    rows = sorted(entries, key=_sort_key)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for i, e in enumerate(rows):
        p, t, rec = e.plan, e.treatment, e.phi
        where = table_place(CSV_PATH, i)

        writer.writerow(
            [
                rec.use("nhc", p.nhc),
                rec.use("patient_name", p.identity.table_name),
                rec.use("national_id", p.identity.national_id),
                rec.use("birth_date", fmt_date(p.birth_date, "es", "dmy")),
                "Mujer" if p.sex == "F" else "Hombre",
                rec.use("phone", p.identity.phone),
                rec.use("visit_date", fmt_date(t.date, "es", "dmy")),
                p.spec.es[0].capitalize(),
                p.icd10,
                _SIDE_ES[p.side],
                p.severity if p.severity is not None else "",
                e.label,
                _dose_es(t),
                t.sessions if t.sessions is not None else "",
                _cell_es(e.score("vas", 0, where)),
                _cell_es(e.score("vas", 3, where)),
                _cell_es(e.score("vas", 6, where)),
                _cell_es(e.score("vas", 12, where)),
                _cell_es(e.score("womac", 0, where)),
                _cell_es(e.score("womac", 12, where)),
                _cell_es(e.score("koos_pain", 0, where)),
                _cell_es(e.score("koos_pain", 12, where)),
                ", ".join(_AE_ES[a] for a in t.adverse_events) or "Ninguno",
                rec.use("doctor_name", p.identity.doctor.full),
            ]
        )
    return out.getvalue().encode("utf-8"), rows


def render_xlsx(entries: list[TableEntry]) -> tuple[bytes, list[TableEntry]]:
    """Render the English XLSX (real date cells); return its bytes and the entries in row order."""
    rows = sorted(entries, key=_sort_key)
    wb = Workbook()
    wb.properties.creator = "casewise-synth"
    wb.properties.created = FIXED_DATETIME
    wb.properties.modified = FIXED_DATETIME
    ws = wb.active
    assert ws is not None
    ws.title = "Treatments"
    ws.append(list(XLSX_HEADERS))
    for i, e in enumerate(rows):
        p, t, rec = e.plan, e.treatment, e.phi
        where = table_place(XLSX_PATH, i)
        # Date cells reach readers as ISO dates (pandas/openpyxl), so that is the form recorded as PHI.
        rec.use("birth_date", p.birth_date.isoformat())
        rec.use("visit_date", t.date.isoformat())
        ws.append(
            [
                rec.use("nhc", p.nhc),
                rec.use("patient_name", p.identity.full_name),
                rec.use("national_id", p.identity.national_id),
                p.birth_date,
                p.sex,
                rec.use("phone", p.identity.phone),
                t.date,
                p.spec.en[0].capitalize(),
                p.icd10,
                _SIDE_EN[p.side],
                p.severity,
                e.label,
                t.dose,
                t.sessions,
                e.score("vas", 0, where),
                e.score("vas", 3, where),
                e.score("vas", 6, where),
                e.score("vas", 12, where),
                e.score("womac", 0, where),
                e.score("womac", 12, where),
                e.score("koos_pain", 0, where),
                e.score("koos_pain", 12, where),
                ", ".join(_AE_EN[a] for a in t.adverse_events) or "None reported",
                rec.use("doctor_name", p.identity.doctor.full),
            ]
        )
        row = ws.max_row
        ws.cell(row=row, column=1).number_format = "@"
        for col in (4, 7):
            ws.cell(row=row, column=col).number_format = "dd/mm/yyyy"
    for letter, width in zip(
        "ABCDEFGHIJKLMNOPQRSTUVWX",
        (10, 26, 13, 12, 5, 17, 12, 24, 8, 9, 8, 22, 20, 9, 12, 8, 8, 8, 14, 10, 17, 13, 20, 26),
        strict=True,
    ):
        ws.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return normalize_office_zip(buf.getvalue()), rows
