"""PDF follow-up reports ('Informe de evolución' / 'Follow-up report') built with reportlab."""

from __future__ import annotations

import io
from datetime import timedelta
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from synth.cohort import TreatmentPlan
from synth.model import Measure
from synth.notes import NoteWriter
from synth.recorded import outcome_value
from synth.wording import diagnosis_text, dose_phrase, fmt_date, kl_text, side_word, treatment_name

CLINIC_ES = "Unidad de Medicina Regenerativa y Ortopedia"
CLINIC_EN = "Regenerative Medicine & Orthopaedics Unit"


def _outcome_table(w: NoteWriter, t: TreatmentPlan) -> Table:
    """A small table: time point by VAS / WOMAC / KOOS."""
    es = w.es
    head = ["", "Basal" if es else "Baseline", "3 m", "6 m", "12 m"]
    rows: list[list[str]] = [head]

    def cells(measure: Measure) -> list[str]:
        return [w.score(t, measure, m) if outcome_value(t, measure, m) is not None else "-" for m in (0, 3, 6, 12)]

    rows.append(["EVA" if es else "VAS"] + cells("vas"))
    if t.womac:
        rows.append(["WOMAC"] + cells("womac"))
    if t.koos:
        rows.append(["KOOS dolor" if es else "KOOS pain"] + cells("koos_pain"))
    table = Table(rows, hAlign="LEFT", colWidths=[3.2 * cm] + [2.2 * cm] * 4)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (-1, -1), "Helvetica"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    return table


def render_report(w: NoteWriter) -> bytes:
    """Render one patient's follow-up report as PDF bytes (identical bytes for identical input)."""
    p = w.plan
    es = w.es
    lang = p.language
    ident = p.identity
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["Normal"], fontName="Helvetica", fontSize=10, leading=13)
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontName="Helvetica-Bold", fontSize=15)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontName="Helvetica-Bold", fontSize=12)
    last = p.treatments[-1]
    report_date = last.date + timedelta(days=round(last.last_vas_month() * 30.44) + w.rng.randint(0, 10))

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    story: list[object] = [
        para(CLINIC_ES if es else CLINIC_EN, body),
        para("Informe de evolución" if es else "Follow-up report", h1),
    ]
    label = w.pick("Nº historia", "NHC") if es else w.pick("MRN", "NHC")
    story.append(para(f"{label}: {w.phi.use('nhc', p.nhc)}"))
    name = w.phi.use("patient_name", ident.full_name)
    dob = w.phi.use("birth_date", fmt_date(p.birth_date, lang, "dmy"))
    story.append(para(f"{'Paciente' if es else 'Patient'}: {name}    {'F. nacimiento' if es else 'DOB'}: {dob}"))
    if w.maybe(0.5):
        id_label = {"dni": "DNI", "nie": "NIE", "ssn": "SSN"}[ident.national_id_kind]
        story.append(para(f"{id_label}: {w.phi.use('national_id', ident.national_id)}"))
    if w.maybe(0.4):
        story.append(para(f"{'Domicilio' if es else 'Address'}: {w.phi.use('address', ident.address)}"))
    story.append(para(f"{'Fecha del informe' if es else 'Report date'}: {w.date_text(report_date)}"))
    story.append(Spacer(1, 8))

    story.append(para("Antecedentes" if es else "History", h2))
    story.append(para(f"{w.intro_sentence()} {w.complaint()} {w.history()}"))
    story.append(para("Exploración" if es else "Examination", h2))
    story.append(para(w.exam()))
    imaging = w.imaging()
    if imaging:
        story.append(para(imaging))
    dx = f"{diagnosis_text(p, w.rng)} {side_word(p.side, lang, w.rng)}"
    if p.severity is not None:
        dx += f", {kl_text(p.severity, lang, w.rng)}"
    story.append(para(f"{'Diagnóstico' if es else 'Diagnosis'}: {dx} ({p.icd10})."))

    story.append(para("Tratamiento" if es else "Treatment", h2))
    for t in p.treatments:
        when = w.phi.use("visit_date", fmt_date(t.date, lang, "long"))
        dose = dose_phrase(t, lang, w.rng)
        story.append(para(f"{when}: {treatment_name(t.treatment_id, lang, w.rng)}{' - ' + dose if dose else ''}."))

    story.append(para("Evolución" if es else "Outcome", h2))
    for t in p.treatments:
        story.append(
            para(
                f"{treatment_name(t.treatment_id, lang, w.rng)}: "
                f"{w.response(t.vas[0] or 0, t.vas[t.last_vas_month()] or 0)} "
                f"{w.adverse(t)}"
            )
        )
        story.append(Spacer(1, 4))
        story.append(_outcome_table(w, t))
        story.append(Spacer(1, 8))
    doctor = w.phi.use("doctor_name", ident.doctor.full)
    story.append(Spacer(1, 10))
    story.append(para(f"{'Fdo.' if es else 'Signed'}: {doctor}"))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        invariant=1,
        title="Informe de evolución" if es else "Follow-up report",
        author=CLINIC_ES if es else CLINIC_EN,
        creator="casewise-synth",
        producer="casewise-synth",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )
    doc.build(story)
    return buf.getvalue()
