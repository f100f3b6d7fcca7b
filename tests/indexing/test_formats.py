"""HTML, e-mail and Markdown records are indexed like notes: their text is searchable, linked to the patient by the
record number inside, and de-identified (headers of an e-mail included)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.parse import parse_text_document
from indexing.pipeline import Indexer

HTML = """<!doctype html><html><head><title>Informe</title></head><body>
<h1>Informe de consulta</h1><p>Paciente: Lucía Fernández Ortega. NHC: 4455667.</p>
<h2>Evolución</h2><p>Gonartrosis derecha grado 2. Tras tres infiltraciones de PRP la EVA baja de 7 a 3 a los 6 meses.</p>
</body></html>"""
MARKDOWN = """# Nota de seguimiento

Paciente Tomás Ibarra Gil, NHC 9988776.

## Plan
Epicondilitis lateral izquierda; se indica una infiltración de **plasma rico en plaquetas**. EVA 6/10.
"""


def _eml(path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "Dra. Marta Ruiz <marta.ruiz@clinica-ejemplo.es>"
    msg["To"] = "archivo@clinica-ejemplo.es"
    msg["Subject"] = "Seguimiento NHC 5566778"
    msg.set_content("Paciente Andrés Molina Vega, NHC 5566778. Fascitis plantar derecha tratada con ondas de choque; "
                    "EVA de 6 a 2 a los 3 meses. Teléfono de contacto 612 345 678.")
    path.write_bytes(bytes(msg))


def test_html_email_and_markdown_are_indexed_searchable_and_de_identified(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "informe.html").write_text(HTML, encoding="utf-8")
    (records / "seguimiento.md").write_text(MARKDOWN, encoding="utf-8")
    _eml(records / "correo.eml")
    rt = Runtime(load_settings(data_dir=tmp_path / "data"))
    try:
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])
        assert report.quarantined == [] and report.added == 3
        assert report.cases == 3, "each document linked to its patient by the record number inside"
        text = "\n".join(p.get("text", "") for _, p in rt.index.all_payloads())
        for phi in ("Lucía", "Fernández", "4455667", "Tomás", "Ibarra", "9988776", "Andrés", "Molina", "5566778",
                    "612 345 678", "marta.ruiz"):
            assert phi not in text, phi
        for clinical in ("PRP", "Epicondilitis", "ondas de choque"):
            assert clinical in text, clinical
        sections = {p.get("section") for _, p in rt.index.all_payloads()}
        assert "Informe de consulta" in sections, "titles from the document structure become sections"
        # the chunker merges a short note's sections into one chunk, each section's title before its text
        titles = [s.title for s in parse_text_document(records / "seguimiento.md", "md", 10**6)]
        assert titles == ["Nota de seguimiento", "Plan"], "Markdown headings become sections"
        assert "Plan: Epicondilitis" in text
        assert "#" not in text and "**" not in text, "Markdown syntax is not indexed as text"
        assert "plasma rico en plaquetas" in text
    finally:
        rt.close()
