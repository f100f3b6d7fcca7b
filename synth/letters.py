"""DOCX referral and discharge letters built with python-docx."""

from __future__ import annotations

import io
from datetime import timedelta

from docx import Document
from docx.document import Document as DocumentObject

from synth.files import FIXED_DATETIME, normalize_office_zip
from synth.notes import NoteWriter
from synth.reports import CLINIC_EN, CLINIC_ES
from synth.wording import diagnosis_text, dose_phrase, fmt_date, kl_text, side_word, treatment_name


def _heading(doc: DocumentObject, text: str, level: int) -> None:
    """Add a heading by style id: python-docx's lookup by style name costs more than the rest of the letter."""
    doc.add_paragraph(text)._p.style = f"Heading{level}"


def _bullet(doc: DocumentObject, text: str) -> None:
    doc.add_paragraph(text)._p.style = "ListBullet"


def render_letter(w: NoteWriter) -> bytes:
    """Render one patient's referral (surgery) or discharge letter as DOCX bytes."""
    p = w.plan
    es = w.es
    lang = p.language
    ident = p.identity
    referral = any(t.treatment_id == "surgery_referral" for t in p.treatments)
    last = p.treatments[-1]
    months = 0 if referral and last.treatment_id == "surgery_referral" else last.last_vas_month()
    letter_date = last.date + timedelta(days=round(months * 30.44) + w.rng.randint(1, 12))

    doc = Document()
    props = doc.core_properties
    props.author = CLINIC_ES if es else CLINIC_EN
    props.last_modified_by = "casewise-synth"
    props.created = FIXED_DATETIME
    props.modified = FIXED_DATETIME
    props.last_printed = FIXED_DATETIME
    props.revision = 1
    props.title = (
        ("Carta de derivación" if referral else "Informe de alta")
        if es
        else ("Referral letter" if referral else "Discharge letter")
    )

    doc.add_paragraph(CLINIC_ES if es else CLINIC_EN)
    _heading(doc, props.title, 1)
    label = w.pick("NHC", "Nº historia") if es else w.pick("MRN", "NHC")
    doc.add_paragraph(f"{label}: {w.phi.use('nhc', p.nhc)}")
    doc.add_paragraph(f"{'Fecha' if es else 'Date'}: {w.date_text(letter_date)}")
    name = w.phi.use("patient_name", ident.full_name)
    dob = w.phi.use("birth_date", fmt_date(p.birth_date, lang, "long" if w.maybe(0.5) else "dmy"))
    doc.add_paragraph(f"{'Paciente' if es else 'Patient'}: {name}")
    doc.add_paragraph(f"{'Fecha de nacimiento' if es else 'Date of birth'}: {dob}")
    id_label = {"dni": "DNI", "nie": "NIE", "ssn": "SSN"}[ident.national_id_kind]
    doc.add_paragraph(f"{id_label}: {w.phi.use('national_id', ident.national_id)}")
    doc.add_paragraph(f"{'Dirección' if es else 'Address'}: {w.phi.use('address', ident.address)}")
    doc.add_paragraph(f"{'Teléfono' if es else 'Phone'}: {w.phi.use('phone', ident.phone)}")

    if es:
        doc.add_paragraph("Estimado/a compañero/a:" if referral else "A quien corresponda:")
        if referral:
            opening = (
                "Le remito a la paciente arriba indicada para valoración quirúrgica."
                if p.sex == "F"
                else "Le remito al paciente arriba indicado para valoración quirúrgica."
            )
        else:
            opening = "Se emite el presente informe de alta de nuestra unidad."
    else:
        doc.add_paragraph("Dear colleague," if referral else "To whom it may concern,")
        opening = (
            "I would be grateful if you could assess this patient for surgery."
            if referral
            else "This patient is now discharged from our unit."
        )
    doc.add_paragraph(opening)

    _heading(doc, "Antecedentes" if es else "History", 2)
    doc.add_paragraph(f"{w.intro_sentence()} {w.complaint()} {w.history()}")
    _heading(doc, "Diagnóstico" if es else "Diagnosis", 2)
    dx = f"{diagnosis_text(p, w.rng)} {side_word(p.side, lang, w.rng)}"
    if p.severity is not None:
        dx += f" ({kl_text(p.severity, lang, w.rng)})"
    doc.add_paragraph(f"{dx}. CIE-10 {p.icd10}." if es else f"{dx}. ICD-10 {p.icd10}.")
    _heading(doc, "Tratamiento realizado" if es else "Treatment given", 2)
    for t in p.treatments:
        when = w.phi.use("visit_date", fmt_date(t.date, lang, "dmy" if es else "long"))
        dose = dose_phrase(t, lang, w.rng)
        _bullet(doc, f"{when}: {treatment_name(t.treatment_id, lang, w.rng)}{' (' + dose + ')' if dose else ''}")
    _heading(doc, "Evolución" if es else "Outcome", 2)
    for t in p.treatments:
        m = t.last_vas_month()
        if m == 0:
            continue
        v0, vn = t.vas[0] or 0.0, t.vas[m] or 0.0
        if es:
            doc.add_paragraph(
                f"Tras {treatment_name(t.treatment_id, lang, w.rng)}: EVA {w.score(t, 'vas', 0)} -> "
                f"{w.score(t, 'vas', m)} a los {m} meses. {w.response(v0, vn)} {w.adverse(t)}"
            )
        else:
            doc.add_paragraph(
                f"After {treatment_name(t.treatment_id, lang, w.rng)}: VAS {w.score(t, 'vas', 0)} -> "
                f"{w.score(t, 'vas', m)} at {m} months. {w.response(v0, vn)} {w.adverse(t)}"
            )
    _heading(doc, "Recomendaciones" if es else "Recommendations", 2)
    if referral:
        doc.add_paragraph("Valoración de artroplastia." if es else "Assessment for joint replacement.")
    else:
        doc.add_paragraph(
            w.pick(
                "Ejercicio terapéutico domiciliario. Volver a consultar si recae.",
                "Mantener actividad física adaptada.",
            )
            if es
            else w.pick("Continue home exercise programme. Re-refer if symptoms recur.", "Keep active.")
        )
    doc.add_paragraph(w.pick("Atentamente,", "Un saludo,") if es else w.pick("Yours sincerely,", "Kind regards,"))
    doc.add_paragraph(w.phi.use("doctor_name", ident.doctor.full))

    buf = io.BytesIO()
    doc.save(buf)
    return normalize_office_zip(buf.getvalue())
