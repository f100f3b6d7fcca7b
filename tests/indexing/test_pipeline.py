"""The indexing slice on a generated clinic: every file type, patient linking, case assembly, no PHI in the index."""

from __future__ import annotations

import re
from pathlib import Path

from casewise.vocabulary import fold


def _payloads(rt) -> list[dict]:  # type: ignore[no-untyped-def]
    return [p for _, p in rt.index.all_payloads()]


def test_every_document_of_the_clinic_is_indexed(indexed, clinic_dir: Path) -> None:
    rt, report = indexed
    files = [p for p in clinic_dir.rglob("*") if p.suffix in (".txt", ".pdf", ".docx", ".csv", ".xlsx")]
    assert report.quarantined == []
    assert report.added == len(files)
    rows = rt.store.documents()
    assert {r.status for r in rows} == {"indexed"}
    assert {r.doc_type for r in rows} == {"txt", "pdf", "docx", "csv", "xlsx"}


def test_one_case_per_patient_with_the_recorded_diagnosis(indexed, ground_truth) -> None:
    rt, _ = indexed
    assert rt.store.count_cases() == len(ground_truth.patients)
    right = 0
    for p in ground_truth.patients:
        case = rt.store.get_case(rt.deid.pseudonym(p.nhc.lstrip("0")))
        assert case is not None, "every patient becomes a case"
        if p.diagnosis.diagnosis_id in [d.name for d in case.diagnoses]:
            right += 1
    assert right / len(ground_truth.patients) >= 0.9


def test_cases_carry_treatments_and_outcome_changes_as_recorded(indexed, ground_truth) -> None:
    rt, _ = indexed
    treat_hits = out_hits = out_total = 0
    for p in ground_truth.patients:
        case = rt.store.get_case(rt.deid.pseudonym(p.nhc.lstrip("0")))
        names = {t.name for t in case.treatments}
        truth = {t.treatment_id for t in p.treatments}
        treat_hits += truth <= names
        for t in p.treatments:
            vas = {o.time_point_months: o.value for o in t.outcomes if o.measure == "vas"}
            for months, value in vas.items():
                out_total += 1
                out_hits += any(o.measure == "VAS" and o.months == months and abs(o.value - value) < 0.01
                                for o in case.outcomes)
    assert treat_hits / len(ground_truth.patients) >= 0.9
    assert out_hits / out_total >= 0.8


def test_chunks_carry_case_payload_for_filters(indexed) -> None:
    rt, _ = indexed
    payloads = _payloads(rt)
    linked = [p for p in payloads if p.get("case_id")]
    assert len(linked) == len(payloads), "every generated document links to its patient"
    assert all(p["diagnoses"] for p in linked if p["section"] == "summary")
    assert {p["language"] for p in payloads} >= {"es", "en"}
    assert all(p.get("sex") in ("F", "M") for p in linked)


def test_no_identifier_from_the_clinic_reaches_the_index_or_the_store(indexed, ground_truth) -> None:
    """Names, record numbers, ids, phones, e-mails and addresses: not in the index, the store or the logs.
    Dates: not in the patient's own chunks (they are shifted)."""
    rt, _ = indexed
    payloads = _payloads(rt)
    every_text = fold("\n".join(str(p) for p in payloads) + "\n".join(rt.index_log))
    stored_cases = fold("\n".join(c.model_dump_json() for c in rt.store.get_cases(
        [rt.deid.pseudonym(p.nhc.lstrip("0")) for p in ground_truth.patients]).values()))
    leaks = []
    for p in ground_truth.patients:
        case_id = rt.deid.pseudonym(p.nhc.lstrip("0"))
        own = fold("\n".join(str(x) for x in payloads if x.get("case_id") == case_id))
        for item in p.phi:
            needle = fold(item.text)
            if item.kind in ("birth_date", "visit_date", "date"):
                if needle in own:
                    leaks.append(item.kind)
            elif needle in every_text or needle in stored_cases:
                leaks.append(item.kind)
    assert leaks == []


def test_a_corrupt_pdf_is_quarantined_by_name_and_everything_else_is_indexed(copy_clinic: Path, tmp_path: Path) -> None:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    bad = copy_clinic / "reports" / "informe_roto.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ngarbage" + bytes(range(256)) * 4)
    empty = copy_clinic / "notes" / "vacia.txt"
    empty.write_bytes(b"")
    malformed = copy_clinic / "tables" / "malformada.csv"
    malformed.write_text("NHC;Tratamiento;EVA basal\n123456;PRP;7\n654321;PRP;6;extra;fields\n", encoding="utf-8")
    latin = copy_clinic / "notes" / "latin1.txt"
    latin.write_bytes("NHC: 7777777\nMujer de 61 años, gonartrosis dcha. EVA 8. Se infiltra ácido hialurónico."
                      .encode("cp1252"))
    rt = Runtime(load_settings(data_dir=tmp_path / "data"))
    try:
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([copy_clinic])
    finally:
        rt.close()
    reasons = {Path(p).name: r for p, r in report.quarantined}
    assert set(reasons) == {"informe_roto.pdf", "vacia.txt", "malformada.csv"}
    assert "PDF" in reasons["informe_roto.pdf"]
    assert reasons["vacia.txt"] == "empty file"
    assert re.search(r"malformed CSV at line \d", reasons["malformada.csv"])
    total = sum(1 for p in copy_clinic.rglob("*") if p.is_file() and p.name != "ground_truth.json")
    assert report.added == total - 3, "the mis-encoded note and every other file are indexed"
