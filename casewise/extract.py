"""Rules-based extraction of clinical facts from de-identified free text (Spanish and English).

Deliberately simple and fast: lexicons from `casewise.vocabulary` plus patterns for scales and time points.
"""

from __future__ import annotations

import datetime as dt
import re

from casewise.types import Diagnosis, Treatment
from casewise.vocabulary import find_diagnoses, find_treatments, fold, icd10_of

_SIDE = [
    ("bilateral", re.compile(r"\bbilateral(es)?\b|\bambas rodillas\b|\bboth knees\b")),
    ("left", re.compile(r"\bizq(uierd[oa])?\b|\bizda\b|\bleft\b|\blt\b|\bi\.\b")),
    ("right", re.compile(r"\bdcha?\b|\bderech[oa]\b|\bright\b|\brt\b|\bdrcha\b")),
]
_KL = re.compile(r"\b(?:kl|kellgren(?:[- ]lawrence)?)\s*(?:grado|grade|g)?\s*([1-4]|i{1,3}v?|iv)\b|\bgrado\s+([1-4]|i{1,3}|iv)\b")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_AGE = re.compile(r"\b(\d{1,2}|90\+)\s*(?:años|anos|a\.|year[- ]old|years? old|yo|y/o|yrs? old|-year-old)")
_ADVERSE = re.compile(
    r"(dolor post[- ]?infiltraci[oó]n|post[- ]?injection (?:flare|pain)|flare|derrame|effusion|infecci[oó]n|infection|"
    r"hematoma|reacci[oó]n local|local reaction|s[ií]ncope vasovagal|vasovagal)"
)
_NEGATION = re.compile(r"\b(no|sin|niega|without|denies|nor|ningun[oa]?|ni)\b[^.;\n]{0,30}$")


def _side(text: str) -> str | None:
    for side, pat in _SIDE:
        if pat.search(text):
            return side
    return None


def diagnoses(text: str) -> list[Diagnosis]:
    f = fold(text)
    out = []
    for d in find_diagnoses(text):
        sev = None
        m = _KL.search(f)
        if m and d in ("knee_oa", "hip_oa"):
            g = m.group(1) or m.group(2)
            sev = "KL" + _ROMAN.get(g, g)
        out.append(Diagnosis(name=d, icd10=icd10_of(d), side=_side(f), severity=sev))
    return out


def treatments(text: str) -> list[Treatment]:
    f = fold(text)
    out = []
    for t in find_treatments(text):
        # "no se ha realizado PRP" / "no PRP" should not count as a treatment given
        idx = f.find(t.replace("_", " ")) if t != "prp" else f.find("prp")
        if idx > 0 and _NEGATION.search(f[max(0, idx - 40):idx]):
            continue
        out.append(Treatment(name=t, side=_side(f)))
    return out


_FU_HEADER = re.compile(
    r"(?:revision|control|seguimiento|follow[- ]?up|fu|f/u|review|reevaluacion)\s*(?:de |a los |at |a |-)?\s*"
    r"(?P<n>\d{1,2})\s*(?:m\b|meses|mes\b|months?|mo\b|mths?|/12)"
    r"|(?P<n2>\d{1,2})[- ](?:month|mes(?:es)?)[- ]?(?:review|follow[- ]?up|control|revision)"
    r"|^\W*(?P<n3>\d{1,2})\s*(?:months|meses)\s*$",  # a header line of its own: '12 MONTHS'
    re.MULTILINE,
)
# 'N months after <a treatment>' says the visit's time point as plainly as a heading ('x 8 months after a fall' does
# not: a treatment must follow).
_MONTHS_AFTER = re.compile(r"(?<![\w/])(?P<n>\d{1,2})\s*(?:months?|meses|mo)\s+(?:s/p|after|post|following|tras|despues de)\b")
_FU_MARK = re.compile(
    r"^\s*(?:revision|control|seguimiento|follow[- ]?up|fu\b|f/u|review|reevaluacion)"
    r"|acude a (?:revision|control)|(?:returns|comes|seen|attends) for (?:follow|review)|\bs/p\b|\btras (?:tto|tratamiento|infiltracion)",
    re.MULTILINE,
)
# Earlier follow-up scores written after the current one: '3m: 7, 6m: 5', '3 meses: 6,5', 'a los 6 meses = 4',
# '3 mo: 5/10', '3/12: 5' (months as British notes write them), 'mes 3: 4', 'month 6: 2'. The score follows the time
# point directly: with a word between ('6 meses: EVA 7') the number of months is the pain's history, and a unit after
# the number ('12 meses: 3 sesiones', '6 m: 2 ml') makes it something else.
_TP_UNIT = r"(?:m|mes(?:es)?|months?|mo|mths?|/12)"
_INLINE_TP = re.compile(
    rf"(?:(?<![\w/.,])(?P<m>\d{{1,2}})\s*{_TP_UNIT}|\b(?:mes|month)\s+(?P<m2>\d{{1,2}}))\s*[:=]\s*"
    r"(?P<v>\d{1,2}(?:[.,]\d)?)(?:\s*/\s*10\b)?(?![\d/]|[.,]\d)"
    r"(?!\s*(?:ses|sess|inf|iny|inj|ml|mg|sem|weeks?|d[ií]as|days|mes|months?|m\b|veces|times|x\b|%))")


def inline_scores(folded: str) -> list[tuple[float, float, int, int]]:
    """(months, value, start, end) of each earlier score written inline ('3m: 7, 6m: 5'), on 0-10; folded text."""
    out = []
    for m in _INLINE_TP.finditer(folded):
        months = int(m.group("m") or m.group("m2"))
        value = float(m.group("v").replace(",", "."))
        if 1 <= months <= 60 and value <= 10:
            out.append((float(months), value, m.start(), m.end()))
    return out


_DATE_NUM = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b")
_MONTHS_ES = {m: i + 1 for i, m in enumerate(
    ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"])}
_MONTHS_EN = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DATE_WORD = re.compile(r"\b(\d{1,2})(?: de)? ([a-z]{3,10})\.?(?: de)? (\d{4})\b|\b([a-z]{3,10})\.? (\d{1,2}),? (\d{4})\b")


def _dates(f: str) -> list[tuple[int, dt.date]]:
    out: list[tuple[int, dt.date]] = []
    for m in _DATE_NUM.finditer(f):
        try:
            if m.group(1):
                d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            else:
                y = int(m.group(6))
                y = y + 2000 if y < 100 else y
                d = dt.date(y, int(m.group(5)), int(m.group(4)))
            out.append((m.start(), d))
        except ValueError:
            continue
    for m in _DATE_WORD.finditer(f):
        try:
            if m.group(1):
                mon = _MONTHS_ES.get(m.group(2)) or _MONTHS_EN.get(m.group(2)[:3])
                if mon:
                    out.append((m.start(), dt.date(int(m.group(3)), mon, int(m.group(1)))))
            else:
                mon = _MONTHS_EN.get(m.group(4)[:3]) or _MONTHS_ES.get(m.group(4))
                if mon:
                    out.append((m.start(), dt.date(int(m.group(6)), mon, int(m.group(5)))))
        except ValueError:
            continue
    return sorted(out)


def _snap(months: float) -> float:
    for tp in (3.0, 6.0, 12.0, 24.0):
        if abs(months - tp) <= max(1.0, tp * 0.2):
            return tp
    return float(round(months))


_FIRST_VISIT = re.compile(r"primera (?:visita|consulta)|1[ªao] visita|consulta inicial|nuevo paciente|new patient|"
                          r"first visit|initial (?:consultation|assessment)|new pt")
_BIRTH = re.compile(r"(?:nac\w*|birth|dob|f\.? ?n\.?|fn)\W{0,6}$")
# A score compared in brackets with the one before treatment ('VAS: 2. (VAS at baseline 5)', '(EVA previa 6)') is
# written at a follow-up: a first visit's score is the baseline itself.
_FU_MARK_MORE = re.compile(r"consulta sucesiva|en seguimiento|tratad[oa] con|seen after|fu after|\bs/p\b|^\s*review\b|"
                           r"\(\s*(?:(?:eva|vas|nrs)\s+(?:at\s+)?(?:basal|baseline|previa|previo|inicial|pre-?tx)|"
                           r"(?:basal|baseline|pre-?tx|partia de)\s+(?:eva|vas|nrs))\b",
                           re.MULTILINE)
_ANY_SCORE = re.compile(r"\b(?:eva|vas|nrs|womac|koos|lequesne)\b|\b(?:pain|dolor)\s+\d")


def note_time_point(text: str) -> float | None:
    """Months after treatment that a note describes: 0 for a first visit, N for an N-month follow-up, None unknown.

    A follow-up header ('REVISIÓN 6 MESES', 'FU 6m') counts only before the first score: after it, 'FU 3 months'
    is the plan of a first visit. Birth dates are left out when the interval between dates is measured.
    """
    f = fold(text)
    score = _ANY_SCORE.search(f)
    head = f[:min(score.start() if score else len(f), 600)]
    m = _FU_HEADER.search(head)
    if m:
        return float(m.group("n") or m.group("n2") or m.group("n3"))
    for m in _MONTHS_AFTER.finditer(head):  # 'Seen 6 months s/p PRP', '6 meses tras la infiltración de PRP'
        if find_treatments(re.split(r"[,.;\n]", f[m.end():m.end() + 30], maxsplit=1)[0]):
            return float(m.group("n"))
    if _FIRST_VISIT.search(head):
        return 0.0
    # Earlier scores listed ('3m: 7, 6m: 5') mark a follow-up as much as its heading does.
    if not (_FU_MARK.search(f[:600]) or _FU_MARK_MORE.search(f[:600]) or inline_scores(f[:600])):
        return 0.0
    dates = [d for pos, d in _dates(f) if not _BIRTH.search(f[max(0, pos - 25):pos])]
    if dates:  # an unlabelled birth date (de-identification can take the label) is years before the visit
        dates = [d for d in dates if (max(dates) - d).days <= 5 * 365]
    if len(dates) >= 2:
        first, last = min(dates), max(dates)
        months = (last - first).days / 30.44
        if 1 <= months <= 60:
            return _snap(months)
    return None


def age(text: str) -> int | str | None:
    m = _AGE.search(fold(text))
    if not m:
        return None
    if m.group(1) == "90+":
        return "90+"
    v = int(m.group(1))
    return v if 10 <= v <= 110 else None


# An age written with a sex letter: '76 y/o M', '54yo M' anywhere; a bare '62m.' / '37f' only where a sentence or a
# line starts (or after 'Pt', 'patient', 'edad'), never split over a line, and never a time point ('Control 12m',
# 'FU 12m', 'revisión 12m tras', 'de 18 m de evolución', '3m: 3, 6m: 5', a table's '3 m' column): the letter is glued to
# the number and ends the sentence, or a complaint follows.
_AGE_SEX_YO = re.compile(r"\b\d{1,3}[ \t]?(?:yo|y/o|y\.o\.)[ \t]?(?P<s>[mf])\b")
_AGE_SEX_BARE = re.compile(r"(?:^[ \t]*(?:[-*\u2022][ \t]*)?|(?<=[.;!?])[ \t]+|\b(?:pt|patient|paciente|edad|age)\b[:,]?[ \t]+"
                           r"(?:is[ \t]+)?)\d{1,3}(?P<s>[mf])(?=[.;](?!\d)|[ \t]+(?:c/o|with|con|presents|referred|remitid))",
                           re.MULTILINE)


_SEX_WORD_F = re.compile(r"\b(?:mujer|femenin[oa]|female|woman|sra|senora)\b")
_SEX_WORD_M = re.compile(r"\b(?:varon|hombre|masculino|male|man|sr|senor)\b")


def sex(text: str) -> str | None:
    """'F'/'M' from a sex word ('mujer', 'male', 'Sra') or an age written with its letter ('62m.', '76 y/o M');
    the first one in the note wins."""
    f = fold(text)
    found = [(m.start(), s) for rx, s in ((_SEX_WORD_F, "F"), (_SEX_WORD_M, "M")) if (m := rx.search(f))]
    found += [(m.start(), m.group("s").upper()) for rx in (_AGE_SEX_YO, _AGE_SEX_BARE) if (m := rx.search(f))]
    return min(found)[1] if found else None


def adverse_events(text: str) -> list[str]:
    """Adverse events reported after a treatment; a first visit's findings (an effusion on examination) are not."""
    if note_time_point(text) == 0.0:
        return []
    f = fold(text)
    found = []
    for m in _ADVERSE.finditer(f):
        pre = f[max(0, m.start() - 40):m.start()]
        if _NEGATION.search(pre):
            continue
        found.append(m.group(1))
    return sorted(set(found))


