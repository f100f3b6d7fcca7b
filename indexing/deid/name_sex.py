"""The patient's sex as their given name implies it, read from the note's patient line before the name is removed.

Many notes state the sex nowhere but through the name ("Nombre: Lucía ...", "Pt: Edward ..."); de-identification
removes the name, so this is read first. Only the given name of a patient label counts (never a professional's or a
relative's), and only when Faker's gendered first-name lists (es_ES, es_MX, en_US, en_GB) put it in one list alone.
Sex is not an identifier; the name itself is never kept, returned or logged.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Sequence
from typing import Literal

from indexing.deid.lexicon import fold
from indexing.deid.types import PhiSpan

Sex = Literal["F", "M"]

_LOCALES = ("es_ES", "es_MX", "en_US", "en_GB")
_MD = r"[*_]{0,3}"
# Labels that name the patient themself (relatives, surnames alone and professionals are left out on purpose).
_COLON_LABELS = r"Nombre y apellidos|Nombre del paciente|Nombre completo|Nombre|Patient'?s name|Patient name"
_NAME_LABELS = r"Full name|Name|First name|Given name"  # only where a line or a field starts: not "Mother's name:"
_PATIENT_LABELS = r"Paciente|Patient|Pac\.|Pte\.|Pt\.?|Pat\."
_TITLES = r"Sr|Sra|Srta|Dña|Dª|D|Don|Doña|Mr|Mrs|Ms|Miss|Mx"
_PRO_TITLES = r"Dr|Dra|Drs|Dres|Doctor|Doctora|Prof|Profa|Profesor|Profesora"
# Parsing may join a form's lines ("NHC: 865510 Paciente: ..."), so most labels count wherever a word starts.
_PATIENT_LINE = re.compile(
    rf"(?:(?:^|[:|.;,(\t])[ \t]*{_MD}(?i:(?:{_NAME_LABELS}){_MD}[ \t]*:)"
    rf"|(?<![\w'’´-]){_MD}(?i:(?:{_COLON_LABELS}){_MD}[ \t]*:|(?:{_PATIENT_LABELS}){_MD}[ \t]*:?))"
    rf"{_MD}[ \t]*(?P<title>(?i:{_PRO_TITLES}|{_TITLES})\.?[ \t]+)?(?=[^\W\d_])",
    re.MULTILINE,
)
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’´-]*(?:-[^\W\d_]+)?")
# "GIL ORTEGA, Ana", "BAILEY, Robert": surnames in capitals first, the given name after the comma
_AFTER_CAPS = re.compile(r"[^\n,]{0,60},[ \t]*")
_PRO_TITLE = re.compile(rf"(?i:{_PRO_TITLES})\.?[ \t]+")

_lock = threading.Lock()
_by_name: dict[str, Sex] | None = None


def _gendered_names() -> dict[str, Sex]:
    """Folded first name -> 'F'/'M' where the lists agree; a name in both lists is left out."""
    global _by_name
    with _lock:
        if _by_name is None:
            female: set[str] = set()
            male: set[str] = set()
            for loc in _LOCALES:
                provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
                for attr, bucket in (("first_names_female", female), ("first_names_male", male)):
                    bucket.update(fold(str(v)) for v in getattr(provider, attr, ()) or ())
            out: dict[str, Sex] = {n: "F" for n in female - male}
            out.update({n: "M" for n in male - female})
            _by_name = out
        return _by_name


def sex_of_given_name(name: str) -> Sex | None:
    """'F' or 'M' when the given name is in one gendered list only; None when in both or neither."""
    return _gendered_names().get(fold(name.strip()))


def patient_name_sex(text: str, spans: Sequence[PhiSpan]) -> Sex | None:
    """The sex the patient line's given name implies, when de-identification removed it as a name (`spans`).

    Every patient line counts; lines that disagree give None.
    """
    persons = [(s.start, s.end) for s in spans if s.type == "PERSON"]
    if not persons:
        return None
    found: set[Sex] = set()
    for m in _PATIENT_LINE.finditer(text):
        if m.group("title") and _PRO_TITLE.fullmatch(m.group("title")):
            continue  # "Paciente: Dra. ...": a professional's name says nothing of the patient
        given = _NAME_WORD.match(text, m.end())
        if given and given.group().isupper() and len(given.group()) > 1:
            comma = _AFTER_CAPS.match(text, given.end())
            given = _NAME_WORD.match(text, comma.end()) if comma else None
            if given and given.group().isupper():
                given = None  # "GIL ORTEGA, ANA MARÍA": all capitals, no telling which word is the given name
        if given is None:
            continue
        start, end = given.span()
        if not any(s <= start and end <= e for s, e in persons):
            continue  # not removed as a name: "Paciente de 60 años", "Pt is a 34yo M"
        sex = sex_of_given_name(given.group())
        if sex is not None:
            found.add(sex)
    return found.pop() if len(found) == 1 else None
