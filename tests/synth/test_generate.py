"""The synthetic clinic: reproducible, realistic enough to exercise the pipeline, and faithful to its ground truth."""

from __future__ import annotations

import csv
import re
import statistics
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from synth import SAMPLE_DIR, GroundTruth, NotAClinicFolderError, generate_clinic, load_ground_truth, main
from synth.people import dni_letter
from synth.questions import matches
from synth.tables import CSV_HEADERS, CSV_PATH, XLSX_HEADERS, XLSX_PATH

SMALL = 25
RECORD_LINE = re.compile(r"^\s*(?:NHC|Nº historia|MRN): (\d{6,8})\s*$", re.MULTILINE)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _text(path: Path) -> str:
    """Plain text of a generated document, the way a parser would see it."""
    if path.suffix == ".txt":
        return path.read_text(encoding="utf-8")
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    if path.suffix == ".docx":
        return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    raise AssertionError(f"unexpected document type {path.suffix}")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _csv_rows(root: Path) -> list[list[str]]:
    with (root / CSV_PATH).open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))[1:]


def _xlsx_rows(root: Path) -> list[list[object]]:
    ws = openpyxl.load_workbook(root / XLSX_PATH).active
    assert ws is not None
    return [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    root = tmp_path_factory.mktemp("clinic")
    return root, generate_clinic(root, patients=SMALL, seed=11)


@pytest.fixture(scope="module")
def sample() -> GroundTruth:
    return load_ground_truth(SAMPLE_DIR)


def _docs(root: Path, truth: GroundTruth) -> Iterator[tuple[str, Path, str]]:
    for patient in truth.patients:
        for rel in patient.documents:
            yield patient.nhc, root / rel, rel


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    generate_clinic(tmp_path / "a", patients=SMALL, seed=3)
    generate_clinic(tmp_path / "b", patients=SMALL, seed=3)
    generate_clinic(tmp_path / "c", patients=SMALL, seed=4)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert {".txt", ".pdf", ".docx", ".csv", ".xlsx", ".json"} <= {Path(k).suffix for k in a}
    assert a["ground_truth.json"] != c["ground_truth.json"]
    assert sum(1 for k in a.keys() & c.keys() if a[k] == c[k]) < len(a) // 4


def test_regenerating_into_a_used_folder_leaves_no_stale_files(tmp_path: Path) -> None:
    generate_clinic(tmp_path, patients=SMALL, seed=3)
    truth = generate_clinic(tmp_path, patients=5, seed=3)
    documents = {d for p in truth.patients for d in p.documents}
    on_disk = {k for k in _files(tmp_path) if k.split("/")[0] in ("notes", "reports", "letters")}
    assert on_disk == documents


def test_shipped_sample_equals_a_fresh_generation(tmp_path: Path, sample: GroundTruth) -> None:
    fresh = generate_clinic(tmp_path, patients=sample.patient_count, seed=sample.seed)
    assert (sample.patient_count, sample.seed) == (200, 7)
    assert fresh == sample
    shipped, regenerated = _files(SAMPLE_DIR), _files(tmp_path)
    assert shipped.keys() == regenerated.keys(), "sample is stale: run `python -m synth --sample`"
    assert [k for k in shipped if shipped[k] != regenerated[k]] == [], (
        "sample is stale: run `python -m synth --sample`"
    )
    assert sum(len(v) for v in shipped.values()) < 6_000_000


def test_both_languages_are_present(sample: GroundTruth) -> None:
    languages = [p.language for p in sample.patients]
    assert 0.5 < languages.count("es") / len(languages) < 0.8
    notes = [_text(SAMPLE_DIR / d) for p in sample.patients for d in p.documents if d.startswith("notes/")]
    assert any("EVA" in n for n in notes) and any("VAS" in n for n in notes)
    assert any(re.search(r"EVA:? \d,5", n) for n in notes), "Spanish notes use decimal commas"


def test_notes_are_written_in_many_styles_not_one_template(sample: GroundTruth) -> None:
    notes = [_text(SAMPLE_DIR / d) for p in sample.patients for d in p.documents if d.startswith("notes/")]

    def shape(line: str) -> str:
        return re.sub(r"\d+([.,]\d+)?", "#", line.strip())[:25]

    body_openings = {shape(n.split("\n\n", 1)[1].splitlines()[0]) for n in notes if "\n\n" in n}
    assert len(body_openings) > 40
    first_lines = {re.sub(r"\d", "#", n.splitlines()[0]) for n in notes}
    assert len(first_lines) > 15
    joined = "\n".join(notes)
    for marker in ("EVA", "Rx", "AP", "IA", "c/ ", "FU", "s/p", "Niega", "No adverse events", "de 20", "/20", "-0"):
        assert marker in joined, marker
    months = "(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)"
    assert re.search(rf"\d{{1,2}} de {months} de \d{{4}}", joined)
    assert re.search(
        r"(January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}, \d{4}",
        joined,
    )
    assert re.search(r"\b(rodila|pacinete|mejoria|injecton|improvment|tratamieto)\b", joined), "notes carry typos"


def test_every_document_carries_its_patients_record_number(small: tuple[Path, GroundTruth]) -> None:
    root, truth = small
    for nhc, path, rel in _docs(root, truth):
        found = RECORD_LINE.findall(_text(path))
        assert found and set(found) == {nhc}, rel
        assert not re.search(r"[A-Za-zÁÉÍÓÚáéíóúñ]{3,}_[A-Za-z]", Path(rel).stem.split("_", 1)[1]), (
            "file names carry no PHI"
        )
        assert re.fullmatch(
            r"(notes/(nota|note)_\d{5}\.txt|reports/(informe|report)_\d{5}\.pdf|letters/(carta|letter)_\d{5}\.docx)",
            rel,
        )


def test_table_rows_record_the_ground_truth_outcomes(small: tuple[Path, GroundTruth]) -> None:
    root, truth = small
    csv_rows, xlsx_rows = _csv_rows(root), _xlsx_rows(root)
    checked = 0
    for patient in truth.patients:
        for ref in patient.table_rows:
            t = patient.treatments[ref.treatment_index]
            if ref.path == CSV_PATH:
                row = dict(zip(CSV_HEADERS, csv_rows[ref.row], strict=True))
                assert row["NHC"] == patient.nhc
                assert row["Tratamiento"] == t.table_label
                for col, m in (("EVA basal", 0), ("EVA 3m", 3), ("EVA 6m", 6), ("EVA 12m", 12)):
                    expected = t.value("vas", m)
                    assert row[col] == ("" if expected is None else f"{expected:g}".replace(".", ","))
                for col, m in (("WOMAC basal", 0), ("WOMAC 12m", 12)):
                    expected = t.value("womac", m)
                    assert (float(row[col]) if row[col] else None) == expected
            else:
                xrow = dict(zip(XLSX_HEADERS, xlsx_rows[ref.row], strict=True))
                assert xrow["MRN"] == patient.nhc
                assert xrow["Treatment"] == t.table_label
                visit = xrow["Date"]
                assert isinstance(visit, datetime) and visit.date().isoformat() == t.date
                for col, m in (("VAS baseline", 0), ("VAS 3m", 3), ("VAS 6m", 6), ("VAS 12m", 12)):
                    assert xrow[col] == t.value("vas", m)
                assert xrow["WOMAC 12m"] == t.value("womac", 12)
            checked += 1
    assert checked == len(csv_rows) + len(xlsx_rows) > 0


def test_every_recorded_phi_string_appears_in_the_patients_own_documents(small: tuple[Path, GroundTruth]) -> None:
    root, truth = small
    csv_rows, xlsx_rows = _csv_rows(root), _xlsx_rows(root)
    kinds: set[str] = set()
    for patient in truth.patients:
        texts = [_text(root / d) for d in patient.documents]
        for ref in patient.table_rows:
            cells = csv_rows[ref.row] if ref.path == CSV_PATH else xlsx_rows[ref.row]
            texts.append(" | ".join("" if c is None else str(c) for c in cells))
        corpus = _flat("\n".join(texts))
        for item in patient.phi:
            assert _flat(item.text) in corpus, (patient.patient_id, item.kind)
            kinds.add(item.kind)
        assert {"nhc", "visit_date"} <= {i.kind for i in patient.phi}
    assert {"patient_name", "doctor_name", "national_id", "phone", "address", "birth_date"} <= kinds


def test_identifiers_look_real(sample: GroundTruth) -> None:
    ids = [i.text for p in sample.patients for i in p.phi if i.kind == "national_id"]
    dnis = [i for i in ids if re.fullmatch(r"\d{8}[A-Z]", i)]
    nies = [i for i in ids if re.fullmatch(r"[XYZ]\d{7}[A-Z]", i)]
    assert dnis and nies
    assert all(dni_letter(int(d[:8])) == d[8] for d in dnis)
    assert all(dni_letter(int(str("XYZ".index(n[0])) + n[1:8])) == n[8] for n in nies)
    nhcs = [p.nhc for p in sample.patients]
    assert len(set(nhcs)) == len(nhcs) and all(re.fullmatch(r"\d{6,8}", n) for n in nhcs)
    phones = [i.text for p in sample.patients for i in p.phi if i.kind == "phone"]
    assert any(x.startswith("+34 6") for x in phones) and any(x.startswith("91 ") for x in phones)
    assert any(x.startswith("(555) ") for x in phones)
    assert any(i.kind == "email" for p in sample.patients for i in p.phi)
    ages = [p.age for p in sample.patients]
    assert min(ages) >= 25 and max(ages) <= 92 and any(a >= 90 for a in ages)
    assert {p.sex for p in sample.patients} == {"F", "M"}


def test_pdf_reports_extract_with_accents(sample: GroundTruth) -> None:
    from pdfminer.high_level import extract_text

    reports = [(p.language, SAMPLE_DIR / d) for p in sample.patients for d in p.documents if d.endswith(".pdf")]
    assert 0.2 < len(reports) / len(sample.patients) < 0.4
    es = next(path for lang, path in reports if lang == "es")
    en = next(path for lang, path in reports if lang == "en")
    for text in (_text(es), extract_text(str(es))):
        assert "Informe de evolución" in text and "Exploración" in text and "Evolución" in text
    assert "Follow-up report" in _text(en) and "Examination" in _text(en)


def test_docx_letters_open_with_headings(sample: GroundTruth) -> None:
    letters = [SAMPLE_DIR / d for p in sample.patients for d in p.documents if d.endswith(".docx")]
    assert 0.15 < len(letters) / len(sample.patients) < 0.4
    document = docx.Document(str(letters[0]))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name.startswith("Heading")]
    assert len(headings) >= 4
    assert document.core_properties.modified is not None and document.core_properties.modified.year == 2024


def test_tables_load_with_pandas(sample: GroundTruth) -> None:
    c = pd.read_csv(SAMPLE_DIR / CSV_PATH, sep=";", decimal=",", encoding="utf-8", dtype={"NHC": str})
    x = pd.read_excel(SAMPLE_DIR / XLSX_PATH, dtype={"MRN": str})
    assert tuple(c.columns) == CSV_HEADERS and tuple(x.columns) == XLSX_HEADERS
    assert pd.api.types.is_float_dtype(c["EVA basal"]) and c["EVA basal"].between(0, 10).all()
    assert pd.api.types.is_numeric_dtype(x["VAS baseline"])
    assert pd.api.types.is_datetime64_any_dtype(x["Date"])
    in_csv = {p.patient_id for p in sample.patients if any(r.path == CSV_PATH for r in p.table_rows)}
    in_xlsx = {p.patient_id for p in sample.patients if any(r.path == XLSX_PATH for r in p.table_rows)}
    nowhere = [p for p in sample.patients if not p.table_rows]
    assert not in_csv & in_xlsx
    assert 0.35 < len(in_csv) / len(sample.patients) < 0.65 and nowhere
    labels = set(c["Tratamiento"]) | set(x["Treatment"])
    assert {"PRP", "Ác. hialurónico", "Infiltración corticoide"} & labels
    assert not labels & {"prp", "hyaluronic_acid", "corticosteroid"}, "tables use the clinic's spellings"


def _mean_change(truth: GroundTruth, group: str, treatment: str, months: int) -> float:
    changes = []
    for p in truth.patients:
        if p.diagnosis.effect_group != group:
            continue
        for t in p.treatments:
            base, later = t.value("vas", 0), t.value("vas", months)
            if t.treatment_id == treatment and base is not None and later is not None:
                changes.append(later - base)
    assert len(changes) >= 3, (group, treatment, months)
    return statistics.mean(changes)


def test_designed_effects_are_visible_in_the_data(sample: GroundTruth) -> None:
    assert (
        _mean_change(sample, "knee_oa_kl1_3", "prp", 12)
        < _mean_change(sample, "knee_oa_kl1_3", "corticosteroid", 12) - 1.5
    )
    assert (
        _mean_change(sample, "knee_oa_kl1_3", "corticosteroid", 3)
        < _mean_change(sample, "knee_oa_kl1_3", "corticosteroid", 12) - 1.5
    )
    assert _mean_change(sample, "knee_oa_kl1_3", "prp", 12) < _mean_change(
        sample, "knee_oa_kl1_3", "hyaluronic_acid", 12
    )
    assert _mean_change(sample, "knee_oa_kl4", "surgery_referral", 12) < _mean_change(
        sample, "knee_oa_kl4", "corticosteroid", 3
    )
    assert (
        _mean_change(sample, "lateral_epicondylitis", "prp", 12)
        < _mean_change(sample, "lateral_epicondylitis", "corticosteroid", 12) - 2
    )


def test_questions_have_designed_answers_and_matching_patients(sample: GroundTruth) -> None:
    questions = sample.questions
    assert len(questions) == 12 and sum(q.language == "es" for q in questions) == 6
    for q in questions:
        assert q.expected_better and q.expected_worse and not set(q.expected_better) & set(q.expected_worse)
        assert q.matching_patient_ids, q.question_id
        by_id = {p.patient_id: p for p in sample.patients}
        assert all(matches(q.profile, by_id[i]) for i in q.matching_patient_ids)
        assert [by_id[i].nhc for i in q.matching_patient_ids] == q.matching_nhcs
        best = min(
            sample.effects.change(q.profile.effect_group, t, q.time_point_months) or 0 for t in q.expected_better
        )
        assert all(
            (sample.effects.change(q.profile.effect_group, t, q.time_point_months) or 0) > best
            for t in q.expected_worse
        )


def test_cli_writes_the_clinic_and_prints_no_patient_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--patients", "6", "--seed", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    truth = load_ground_truth(tmp_path / "ground_truth.json")
    assert "6 patients" in out
    assert not [i.kind for p in truth.patients for i in p.phi if i.text in out]
    with pytest.raises(SystemExit):
        main(["--patients", "6"])


def test_refuses_to_overwrite_a_folder_that_is_not_a_generated_clinic(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("a clinician's own note", encoding="utf-8")
    with pytest.raises(NotAClinicFolderError):
        generate_clinic(tmp_path, patients=2)
    assert (tmp_path / "notes" / "mine.txt").exists()


def test_only_surgical_referral_letters_ask_for_a_surgical_assessment(sample: GroundTruth) -> None:
    """A discharge letter must not read as a surgical referral (that would plant a treatment no one was given)."""
    seen = {"referral": 0, "discharge": 0}
    for p in sample.patients:
        referred = any(t.treatment_id == "surgery_referral" for t in p.treatments)
        for d in (d for d in p.documents if d.endswith(".docx")):
            text = "\n".join(par.text for par in docx.Document(str(SAMPLE_DIR / d)).paragraphs).lower()
            asks_surgery = "valoración quirúrgica" in text or "assess this patient for surgery" in text
            assert asks_surgery == referred, f"{d}: referral={referred}"
            seen["referral" if referred else "discharge"] += 1
    assert seen["referral"] and seen["discharge"]
