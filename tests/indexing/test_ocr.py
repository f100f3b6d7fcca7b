"""Scanned PDFs: pages without a text layer are read by tesseract (Unstructured's ocr_only strategy) and indexed like
typed pages, linked to the patient and de-identified; when OCR cannot run, the file is quarantined with a reason that
says what is missing. Real tesseract and poppler (scripts/bootstrap.sh --test installs them with apt)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer
from tests.parts import TESSERACT, require_part, tesseract_missing


@pytest.fixture(autouse=True)
def _tesseract() -> None:
    require_part(TESSERACT, tesseract_missing())


FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
SCANNED = ["INFORME DE CONSULTA", "Paciente: Rosario Quintana Beltrán", "NHC: 7712345",
           "Diagnóstico: gonartrosis de rodilla derecha.", "Tratamiento: infiltración de plasma rico en plaquetas.",
           "EVA inicial 7; a los tres meses, EVA 3."]
TYPED = ["Nota de evolución. NHC: 7712345.", "Buena tolerancia a la infiltración. Sin efectos adversos."]


def _scan(lines: list[str]) -> Image.Image:
    """A page as a scanner gives it: an image of text, no text layer."""
    font = ImageFont.truetype(str(FONT), 34)
    page = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((120, 150 + 70 * i), line, font=font, fill=0)
    return page


def _scanned_pdf(path: Path, pages: list[list[str]]) -> None:
    images = [_scan(p) for p in pages]
    images[0].save(path, "PDF", resolution=200.0, save_all=True, append_images=images[1:])


def _typed_then_scanned_pdf(path: Path) -> None:
    """Page 1 typed (text layer), page 2 a scanned image: the common outside-report-appended case."""
    img = path.with_suffix(".png")
    _scan(SCANNED).save(img)
    c = canvas.Canvas(str(path), pagesize=A4)
    for i, line in enumerate(TYPED):
        c.drawString(72, 770 - 16 * i, line)
    c.showPage()
    c.drawImage(str(img), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()
    img.unlink()


def _index(tmp_path: Path, records: Path, **ingest: object) -> tuple[Runtime, object]:
    rt = Runtime(load_settings(data_dir=tmp_path / "data", ingest=ingest))
    return rt, Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])


def test_scanned_and_mixed_pdfs_are_read_linked_and_de_identified(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _scanned_pdf(records / "escaneado.pdf", [SCANNED])
    _typed_then_scanned_pdf(records / "mixto.pdf")
    rt, report = _index(tmp_path, records)
    try:
        assert report.quarantined == [] and report.added == 2
        assert report.cases == 1, "both PDFs linked to one patient by the record number read from the scan"
        payloads = [p for _, p in rt.index.all_payloads()]
        text = "\n".join(p.get("text", "") for p in payloads)
        for clinical in ("gonartrosis", "plasma rico en plaquetas", "EVA"):
            assert clinical in text, f"{clinical!r} read from the scanned page"
        for phi in ("Rosario", "Quintana", "Beltrán", "7712345"):
            assert phi not in text, "identifiers read by OCR are removed like typed ones"
        docs: dict[str, list[dict]] = {}
        for p in payloads:
            docs.setdefault(p["doc_id"], []).append(p)
        [mixed] = ["\n".join(p["text"] for p in sorted(d, key=lambda p: p["position"]))
                   for d in docs.values() if any("tolerancia" in p["text"] for p in d)]
        assert "gonartrosis" in mixed, "the scanned page of a typed PDF is read too"
        assert mixed.index("tolerancia") < mixed.index("gonartrosis"), "typed page 1 comes before scanned page 2"
    finally:
        rt.close()


def test_scans_are_quarantined_with_the_reason_when_ocr_cannot_run(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _scanned_pdf(records / "escaneado.pdf", [SCANNED])
    (records / "nota.txt").write_text("NHC: 7712345. Revisión: EVA 2, sin dolor nocturno.", encoding="utf-8")

    rt, report = _index(tmp_path / "off", records, ocr=False)
    rt.close()
    assert report.added == 1, "the rest of the folder is indexed"
    [(name, reason)] = [(Path(path).name, why) for path, why in report.quarantined]
    assert name == "escaneado.pdf" and "ingest.ocr" in reason

    rt, report = _index(tmp_path / "lang", records, ocr_languages=["xyz"])
    rt.close()
    [reason] = [why for _, why in report.quarantined]
    assert "no language data for xyz" in reason and "tesseract-ocr" in reason


def test_a_scan_longer_than_the_ocr_page_limit_is_quarantined_by_name(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _scanned_pdf(records / "largo.pdf", [SCANNED, SCANNED[3:], SCANNED[4:]])
    rt, report = _index(tmp_path, records, ocr_max_pages=2)
    rt.close()
    [(path, why)] = report.quarantined
    assert Path(path).name == "largo.pdf" and "3 scanned pages" in why and "ocr_max_pages" in why
