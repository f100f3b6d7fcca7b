"""Synthea CSV exports (patients, conditions, medications, procedures, observations, careplans ...) as one more
declared column mapping for the table reader.

A Synthea export is a folder of CSVs linked by the patient's UUID (`Id` in patients.csv, `PATIENT` elsewhere).
Each clinical file maps onto the table roles (patient, date, diagnosis, treatment, free text); the identifying
columns of patients.csv (names, SSN, driver's licence, passport, address, coordinates) are mapped to nothing and so
never read. Billing and administrative files (claims, payers, providers, organizations, supplies ...) carry no facts
for a case, and providers.csv carries clinicians' names: they are recognised and skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# file stem -> the columns that identify it as Synthea's (all must be present)
SIGNATURES: dict[str, tuple[str, ...]] = {
    "patients": ("Id", "BIRTHDATE", "SSN", "FIRST", "LAST", "GENDER"),
    "conditions": ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "medications": ("START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "DISPENSES"),
    "procedures": ("START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "observations": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "VALUE", "UNITS"),
    "careplans": ("Id", "START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "allergies": ("START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "immunizations": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "devices": ("START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "UDI"),
    "imaging_studies": ("Id", "DATE", "PATIENT", "ENCOUNTER", "BODYSITE_DESCRIPTION"),
    "encounters": ("Id", "START", "PATIENT", "ORGANIZATION", "PROVIDER", "ENCOUNTERCLASS"),
    "claims": ("Id", "PATIENTID", "PROVIDERID"),
    "claims_transactions": ("ID", "CLAIMID", "PATIENTID"),
    "payer_transitions": ("PATIENT", "PAYER"),
    "payers": ("Id", "NAME", "REVENUE"),
    "providers": ("Id", "ORGANIZATION", "NAME", "SPECIALITY"),
    "organizations": ("Id", "NAME", "ADDRESS", "REVENUE"),
    "supplies": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "QUANTITY"),
}
# Files with no clinical facts for a case (billing, administration, clinicians' and sites' names).
SKIPPED = frozenset({"encounters", "claims", "claims_transactions", "payer_transitions", "payers", "providers",
                     "organizations", "supplies"})


def kind_of(path: Path, columns: list[str]) -> str | None:
    """'conditions', 'patients', ... when the file is a Synthea export file; None otherwise."""
    stem = path.stem.lower()
    wanted = SIGNATURES.get(stem)
    if wanted is None or not set(wanted) <= set(columns):
        return None
    return stem


def prepare(kind: str, df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame and its declared roles (column -> role); every column not named here is ignored, never read."""
    roles: dict[str, str] = {c: "ignore" for c in df.columns}
    if kind == "patients":
        roles.update({"Id": "patient_id", "BIRTHDATE": "birth_date", "GENDER": "sex"})
        return df, roles
    roles["PATIENT"] = "patient_id"
    roles["DATE" if kind in ("observations", "immunizations") else "START"] = "date"
    if kind == "conditions":
        roles["DESCRIPTION"] = "diagnosis"
    elif kind in ("medications", "procedures", "careplans"):
        roles["DESCRIPTION"] = "treatment"
        if "REASONDESCRIPTION" in df.columns:
            roles["REASONDESCRIPTION"] = "diagnosis"
    elif kind == "observations":
        # "Pain severity - 0-10 verbal numeric rating [Score] - Reported: 4 {score}": the row's finding as text.
        df = df.assign(FINDING=df["DESCRIPTION"].str.strip() + ": " + df["VALUE"].str.strip() + " "
                       + df["UNITS"].fillna("").str.strip())
        roles["FINDING"] = "free_text"
    else:  # allergies, immunizations, devices, imaging studies: what was recorded, as text
        text_col = "BODYSITE_DESCRIPTION" if kind == "imaging_studies" else "DESCRIPTION"
        df = df.assign(FINDING=f"{kind.replace('_', ' ')}: " + df[text_col].str.strip())
        roles["FINDING"] = "free_text"
    return df, roles
