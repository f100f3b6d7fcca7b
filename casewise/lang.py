"""A cheap Spanish/English guess from function words, form labels and spelling: enough to pick prompts, analyzers
and stemmers, and right on short lines ("DOB: 03/04/1950", "Domicilio: C/ Mayor 3, 2 A.") as well as on notes."""

from __future__ import annotations

import re

from casewise.types import Language

# Function words and the labels of clinical forms. Words both languages use ("a", "no", "me", "he") are left out.
_ES = frozenset("""
el la los las de del que y en un una por con para se es su al lo como más pero sus le ya o fue este esta ha han
años año meses días sin tras desde hasta sobre entre también muy cuando donde ser está están hay era son
paciente dolor rodilla tratamiento mejoría nombre apellidos apellido fecha nacimiento domicilio dirección calle
teléfono edad sexo varón mujer hombre médico remitido informe consulta historia clínica acude refiere presenta
exploración diagnóstico motivo ingreso alta antecedentes evolución derecha izquierda mes semanas responsable
correo electrónico vive
""".split())
_EN = frozenset("""
the of and to in is was for with on as by at an be this that from or are were has have had been will would
his her their its my your our we you they it what who which when where how there then than not but if
patient pain knee treatment improvement after since name surname first last date birth dob address street phone
email age male female seen visit lives moved follow up history report admitted discharged referred right left
months weeks years days old here under given billing my i suite apt apartment zip city state country website
""".split())
_WORD = re.compile(r"[a-záéíóúñü']+")
_EN_CONTRACTION = re.compile(r"\b\w+'(?:s|m|re|ve|ll|d|t)\b")
# Spellings that Spanish words do not have: "w", "k", "th", "sh", "ck", "ght", "-ing".
_EN_SPELLING = re.compile(r"w|k|th|sh|ck|ght|ing$")
_ES_SPELLING = re.compile(r"[ñáéíóú]|ción$")


def detect_language(text: str, default: Language = "es") -> Language:
    """Return 'es' or 'en' by counting common words and telltale spellings; `default` on a tie (the clinic's main
    language). Spelling counts only on lower-case words, so a name such as "Šárka" or "Kowalski" votes for neither."""
    head = text[:5000]
    words = _WORD.findall(head.lower())
    es: float = sum(w in _ES for w in words) + 2 * sum(ch in "¿¡" for ch in head)
    en: float = sum(w in _EN for w in words) + 2 * len(_EN_CONTRACTION.findall(head.lower()))
    for w in _WORD.findall(head):  # lower-case words only: names and acronyms say nothing about the language
        if len(w) > 2:
            es += 0.5 * bool(_ES_SPELLING.search(w))
            en += 0.5 * bool(_EN_SPELLING.search(w))
    if es == en:
        return default
    return "es" if es > en else "en"


def number(x: float, lang: str, fmt: str = "{:+.1f}") -> str:
    """A number as the answer's language writes it (decimal comma in Spanish)."""
    text = fmt.format(x)
    return text.replace(".", ",") if lang == "es" else text


def measure_name(measure: str, lang: str) -> str:
    """A scale's name as the answer's language writes it (Spanish notes say EVA for the VAS)."""
    return "EVA" if measure == "VAS" and lang == "es" else measure
