"""Synthea CSV exports become cases: clinical files are read through a declared mapping, identifying columns never
are, and billing/administrative files (with clinicians' names) are skipped. The export here is written in the test
with Synthea's real headers and invented values (the real sample lives in ../shared/data/synthea)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer

P1, P2 = "3edac2e3-d223-6fae-d515-daf96ef6bc76", "9d188916-8390-282b-3ec2-73fce6e08649"
PHI = ["Maynard46", "Mosciski958", "999-17-5017", "S99941126", "X46279503X", "784 Stamm Lock Unit 46", "Somerville",
       "Rosalind12", "Kuhic920", "999-52-1234", "12 Hane Junction", "Dr. Abel832 Kerluke267", "PCP81729"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthea")
    _write(root / "patients.csv",
           ["Id", "BIRTHDATE", "DEATHDATE", "SSN", "DRIVERS", "PASSPORT", "PREFIX", "FIRST", "LAST", "SUFFIX", "MAIDEN",
            "MARITAL", "RACE", "ETHNICITY", "GENDER", "BIRTHPLACE", "ADDRESS", "CITY", "STATE", "COUNTY", "ZIP", "LAT",
            "LON", "HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE"],
           [[P1, "1961-10-06", "", "999-17-5017", "S99941126", "X46279503X", "Mr.", "Maynard46", "Mosciski958", "", "",
             "M", "white", "nonhispanic", "M", "Boston", "784 Stamm Lock Unit 46", "Somerville", "Massachusetts",
             "Middlesex County", "02155", "42.36", "-71.15", "227761.06", "2546.04"],
            [P2, "1958-03-22", "", "999-52-1234", "", "", "Mrs.", "Rosalind12", "Kuhic920", "", "", "M", "white",
             "nonhispanic", "F", "Quincy", "12 Hane Junction", "Quincy", "Massachusetts", "Norfolk County", "02169",
             "42.25", "-71.0", "1000.0", "10.0"]])
    _write(root / "conditions.csv", ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"],
           [["2021-01-27", "", P1, "e1", "239873007", "Osteoarthritis of knee"],
            ["2022-05-02", "", P2, "e2", "239872002", "Osteoarthritis of hip"]])
    _write(root / "procedures.csv", ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST",
                                     "REASONCODE", "REASONDESCRIPTION"],
           [["2021-02-10T10:00:00Z", "2021-02-10T10:30:00Z", P1, "e3", "1", "Platelet rich plasma injection", "500",
             "239873007", "Osteoarthritis of knee"]])
    _write(root / "observations.csv", ["DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE",
                                       "UNITS", "TYPE"],
           [["2021-05-10T10:00:00Z", P1, "e4", "survey", "72514-3",
             "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "3", "{score}", "numeric"],
            ["2021-05-10T10:00:00Z", P2, "e5", "laboratory", "56799-0", "What address do you live at?",
             "12 Hane Junction", "", "text"]])
    _write(root / "providers.csv", ["Id", "ORGANIZATION", "NAME", "GENDER", "SPECIALITY", "ADDRESS", "CITY", "STATE",
                                    "ZIP", "LAT", "LON", "ENCOUNTERS", "PROCEDURES"],
           [["pr1", "org1", "Dr. Abel832 Kerluke267", "M", "GENERAL PRACTICE", "1 Main St", "Boston", "MA", "02115",
             "42", "-71", "10", "0"]])
    _write(root / "claims.csv", ["Id", "PATIENTID", "PROVIDERID", "PRIMARYPATIENTINSURANCEID", "DIAGNOSIS1"],
           [["c1", P1, "pr1", "PCP81729", "239873007"]])
    return root


def test_a_synthea_export_becomes_one_case_per_patient_without_identifiers(export: Path, tmp_path: Path) -> None:
    rt = Runtime(load_settings(data_dir=tmp_path))
    try:
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([export])
        assert report.quarantined == [] and report.added == 6
        assert report.cases == 2
        payloads = [p for _, p in rt.index.all_payloads()]
        text = "\n".join(str(p) for p in payloads)
        leaked = [v for v in PHI if v in text]
        assert leaked == [], "identifying columns and free-text addresses never reach the index"
        cases = rt.store.get_cases(sorted({p["case_id"] for p in payloads if p.get("case_id")}))
        knee = next(c for c in cases.values() if any(d.name == "knee_oa" for d in c.diagnoses))
        assert knee.sex == "M" and knee.age_band and any(t.name == "prp" for t in knee.treatments)
        hip = next(c for c in cases.values() if c is not knee)
        assert hip.sex == "F" and any(d.name == "hip_oa" for d in hip.diagnoses)
        assert "Pain severity" in text, "observations are searchable text"
        docs = {Path(d.source_path).name: d for d in rt.store.documents()}
        assert docs["providers.csv"].chunk_ids == [] and docs["claims.csv"].chunk_ids == []
        assert all(d.status == "indexed" for d in docs.values())
    finally:
        rt.close()
