"""`casewise extract PATH --out FILE` as a user runs it: a real subprocess on a small folder of invented records
(Spanish and English notes and a CSV table), CSV/JSONL/XLSX out, and a quality report that flags what was planted."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CASEWISE = [sys.executable, "-m", "cli.main"]
IDENTIFIERS = ("Lucía", "Ferrándiz", "1234567", "Harold", "Finch", "7654321", "nota_a", "note_c", "612 345 678")

NOTE_A = """PRIMERA VISITA
NHC: 1234567
Paciente: Lucía Ferrándiz Olmo  Tel: 612 345 678
Fecha: 10/01/2023
Mujer de 63 años. Gonartrosis izquierda KL 2. EVA 7/10, WOMAC 50.
Plan: PRP IA, 3 infiltraciones cada 2 semanas, 4 ml. Revisión en 3 meses.
"""
NOTE_B = """REVISIÓN 3 MESES
NHC: 1234567
Fecha: 12/04/2023
Revisión tras PRP (10/01/2098). EVA 14. (EVA basal 7). Próxima revisión: 03/02/2099. Niega efectos adversos.
"""
NOTE_C = """First visit
MRN: 7654321
Patient: Harold Finch
Date: 2023-03-01
67-year-old man. Knee OA right (M17.1). VAS 8/10.
Plan: hyaluronic acid IA injection, single injection, 2 ml. FU 3 months.
"""
TABLE = ("NHC;Paciente;Fecha;Diagnóstico;CIE-10;Lado;Tratamiento;Dosis;Sesiones;EVA basal;EVA 3m\n"
         "7654321;FINCH, Harold;01/03/2023;Gonartrosis;M17.1;Izq.;Ácido hialurónico;2 ml;1;6;4\n")


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "CASEWISE_CONFIG": "/nonexistent/casewise.toml"}
    return subprocess.run(CASEWISE + args, check=False, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records")
    (folder / "nota_a.txt").write_text(NOTE_A, encoding="utf-8")
    (folder / "nota_b.txt").write_text(NOTE_B, encoding="utf-8")
    (folder / "note_c.txt").write_text(NOTE_C, encoding="utf-8")
    (folder / "tabla.csv").write_text(TABLE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def csv_run(records: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("out") / "facts.csv"
    return run(["extract", str(records), "--out", str(out)], tmp_path_factory.mktemp("data")), out


def test_csv_holds_the_facts_of_every_note_under_pseudonyms_only(csv_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    res, out = csv_run
    assert res.returncode == 0, res.stderr
    assert "from 4 documents" in res.stdout
    text = out.read_text(encoding="utf-8")
    report = Path(str(out) + ".quality.json").read_text(encoding="utf-8")
    for ident in IDENTIFIERS:
        assert ident not in text and ident not in report and ident not in res.stdout + res.stderr
    rows = list(csv.DictReader(text.splitlines()))
    notes = [r for r in rows if r["source"] == "note"]
    assert {r["case_id"][:3] for r in rows} == {"PT-"}
    lucia = {r["case_id"] for r in notes if r["kind"] == "treatment" and r["name"] == "prp"}
    assert len(lucia) == 1  # both of her notes, one pseudonym
    prp = next(r for r in notes if r["kind"] == "treatment" and r["name"] == "prp" and r["dose"])
    assert (prp["dose"], prp["sessions"], prp["category"]) == ("4 ml", "3", "biologic")
    vas = {(r["months"], r["value"], r["plausible"]) for r in notes if r["measure"] == "VAS" and r["case_id"] in lucia}
    assert {("0.0", "7.0", "True"), ("3.0", "14.0", "False")} <= vas
    assert any(r["kind"] == "diagnosis" and r["name"] == "knee_oa" and r["side"] == "right" for r in notes)
    assert any(r["source"] == "table" and r["kind"] == "outcome" for r in rows)


def test_quality_report_flags_the_planted_problems(csv_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    res, out = csv_run
    report = json.loads(Path(str(out) + ".quality.json").read_text(encoding="utf-8"))
    issues = report["issues"]
    assert any(i["kind"] == "implausible" and i["field"] == "outcome.VAS" and i["detail"].startswith("14 ")
               for i in issues)
    # A treatment dated 2098 is flagged; the visit planned for 2099 is a follow-up date and is not.
    future = [i for i in issues if i["kind"] == "future_date"]
    assert [i["field"] for i in future] == ["treatment.prp.date"]
    assert int(future[0]["detail"][:4]) >= 2097  # de-identified: shifted by at most deid.max_date_shift_days
    contradictions = {i["field"]: i["detail"] for i in issues if i["kind"] == "contradiction"}
    assert contradictions["diagnosis.knee_oa.side"] == "note says right; table says left"
    assert contradictions["outcome.VAS.0m"] == "note says 8; table says 6"
    assert "implausible 1" in res.stdout and "contradiction 2" in res.stdout and "future_date 1" in res.stdout


def test_xlsx_holds_the_same_rows_as_csv(records: Path, csv_run: tuple[subprocess.CompletedProcess[str], Path],
                                         tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _res, out = csv_run
    n_csv = len(list(csv.DictReader(out.read_text(encoding="utf-8").splitlines())))
    xlsx = tmp_path / "facts.xlsx"
    res = run(["extract", str(records), "--out", str(xlsx)], tmp_path / "data")
    assert res.returncode == 0, res.stderr
    table = list(load_workbook(xlsx, read_only=True)["extraction"].iter_rows(values_only=True))
    assert table[0][:6] == ("case_id", "doc_id", "source", "backend", "fallback", "kind") and len(table) == n_csv + 1
    assert {r[0][:3] for r in table[1:]} == {"PT-"}


def test_jsonl_writes_one_object_per_row_with_iso_dates(tmp_path: Path) -> None:
    import datetime as dt

    from indexing.extraction.export import COLUMNS, write
    from indexing.extraction.records import BatchResult, NoteRecord
    from indexing.extraction.rules import RulesExtractor

    note = RulesExtractor().extract("3-month review. s/p PRP 14/02/2022 (3 inj, 4 ml). VAS 3/10 (baseline VAS 7).")
    batch = BatchResult(notes=[NoteRecord("D1", "PT-TEST", note, dt.date(2026, 1, 1))])
    n = write(batch, tmp_path / "facts.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "facts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == n and all(tuple(x) == COLUMNS for x in lines)
    prp = next(x for x in lines if x["kind"] == "treatment")
    assert (prp["name"], prp["date"], prp["dose"], prp["sessions"]) == ("prp", "2022-02-14", "4 ml", 3)
    assert {(x["measure"], x["value"]) for x in lines if x["kind"] == "outcome"} == {("VAS", 3.0), ("VAS", 7.0)}


def test_unknown_output_format_is_one_line_naming_the_option(records: Path, tmp_path: Path) -> None:
    res = run(["extract", str(records), "--out", str(tmp_path / "facts.parquet")], tmp_path / "data")
    assert res.returncode == 2
    assert "--out" in res.stderr and "unknown format .parquet" in res.stderr and "Traceback" not in res.stderr
