"""Normalization of what clinicians write: decimal commas, date orders, units, sides and doses.

Everything here works on accent-folded lower-case text (`casewise.vocabulary.fold`) unless it says otherwise,
so 'Izq.', 'izquierda' and 'IZQDA' are one side and '5,5' and '5.5' one number.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from casewise.vocabulary import fold

DateOrder = Literal["auto", "dmy", "mdy"]

MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre")
MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
             "november", "december")
_MONTH: dict[str, int] = {}
for _i, (_es, _en) in enumerate(zip(MONTHS_ES, MONTHS_EN, strict=True), start=1):
    _MONTH.update({_es: _i, _en: _i, _es[:3]: _i, _en[:3]: _i})
_MONTH.update({"sept": 9, "set": 9, "setiembre": 9})

NUMBER = r"\d{1,4}(?:[.,]\d{1,2})?"
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/])")
_WORD_DMY = re.compile(r"\b(\d{1,2})(?:\s+de)?\s+([a-z]{3,10})\.?,?(?:\s+de(?:l)?)?\s+(\d{4})\b")
_WORD_MDY = re.compile(r"\b([a-z]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


def parse_number(text: str) -> float | None:
    """'5,5' -> 5.5, '5.5' -> 5.5, '1.200' (thousands) -> 1200; None when it is not a number."""
    s = text.strip().replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):
        s = s.replace(".", "")
    elif s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


def _year(y: str) -> int:
    v = int(y)
    if len(y) == 2:  # two-digit years: 00-69 -> 20xx, 70-99 -> 19xx (birth dates of the oldest patients)
        return 2000 + v if v < 70 else 1900 + v
    return v


def _numeric_date(a: int, b: int, year: int, order: DateOrder) -> dt.date | None:
    """dd/mm versus mm/dd: an impossible reading decides; otherwise the configured order (auto = day first)."""
    candidates = [(b, a), (a, b)] if order == "mdy" else [(a, b), (b, a)]
    for day, month in candidates:
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def find_dates(text: str, order: DateOrder = "auto") -> list[tuple[int, int, dt.date]]:
    """Every date in `text` as (start, end, date), in text order. Works on raw or folded text (offsets of `fold`)."""
    f = fold(text)
    out: list[tuple[int, int, dt.date]] = []
    taken: list[tuple[int, int]] = []

    def add(s: int, e: int, d: dt.date | None) -> None:
        if d is None or any(s < te and ts < e for ts, te in taken):
            return
        taken.append((s, e))
        out.append((s, e, d))

    for m in _ISO.finditer(f):
        try:
            add(m.start(), m.end(), dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    for m in _NUMERIC.finditer(f):
        add(m.start(), m.end(), _numeric_date(int(m.group(1)), int(m.group(3)), _year(m.group(4)), order))
    for m in _WORD_DMY.finditer(f):
        mon = _MONTH.get(m.group(2))
        if mon:
            try:
                add(m.start(), m.end(), dt.date(int(m.group(3)), mon, int(m.group(1))))
            except ValueError:
                continue
    for m in _WORD_MDY.finditer(f):
        mon = _MONTH.get(m.group(1))
        if mon:
            try:
                add(m.start(), m.end(), dt.date(int(m.group(3)), mon, int(m.group(2))))
            except ValueError:
                continue
    return sorted(out)


def parse_date(text: str, order: DateOrder = "auto") -> dt.date | None:
    """The first date in `text` (any of the formats `find_dates` knows), or None."""
    found = find_dates(text, order)
    return found[0][2] if found else None


# --------------------------------------------------------------------------- sides


_SIDES = (
    ("bilateral", re.compile(r"\bbilat(?:eral(?:es)?|\.)?(?![a-z])|\bambas?\b|\bboth\b")),
    ("left", re.compile(r"\bizq(?:uierd[oa]|d[oa]|\.)?(?![a-z])|\bleft\b|\blt\b|\bl\b(?![-'])")),
    ("right", re.compile(r"\bdch[oa]?\b|\bdrch[oa]?\b|\bdcha\.|\bderech[oa]\b|\bright\b|\brt\b|\br\b(?![-'])")),
)


def side_of(text: str) -> str | None:
    """The first side written in a short piece of text ('rodilla izq', 'R knee', 'ambas rodillas')."""
    f = fold(text)
    best: tuple[int, str] | None = None
    for side, pat in _SIDES:
        m = pat.search(f)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), side)
    return best[1] if best else None


def normalize_side(value: str | None) -> str | None:
    """A side cell or LLM answer ('Dcha.', 'L', 'both') -> left | right | bilateral | None."""
    if not value:
        return None
    f = fold(value).strip(" .")
    if f in ("left", "right", "bilateral"):
        return f
    return side_of(f)


# --------------------------------------------------------------------------- doses and sessions


_UNIT = {"ml": "ml", "mls": "ml", "cc": "ml", "cm3": "ml", "mililitros": "ml", "millilitres": "ml", "milliliters": "ml",
         "mg": "mg", "miligramos": "mg", "milligrams": "mg"}
_DOSE = re.compile(r"(?<![\d.,])(?P<v>\d{1,4}(?:[.,]\d{1,2})?)\s*(?P<u>ml|mls|cc|cm3|mililitros|millilitres|milliliters"
                   r"|mg|miligramos|milligrams)\b(?!\s*/)")
_CONC = re.compile(r"(?P<v>\d{1,3}(?:[.,]\d{1,2})?)\s*mg\s*/\s*ml\b")
_ESWT = re.compile(r"(?P<p>\d{3,5})\s*(?:impulsos|pulsos|pulses|impulses|shocks|disparos)\s*(?:a|at|de|,)?\s*"
                   r"(?P<e>\d(?:[.,]\d{1,3})?)\s*mj/mm(?:2|²)")


def _fmt(v: float) -> str:
    return f"{v:g}"


def normalize_dose(text: str) -> tuple[str | None, float | None]:
    """(dose in canonical form, injected volume in ml) from a piece of text.

    Canonical forms: '4 ml', '40 mg', '2 ml 15 mg/ml' (volume and concentration), '2000 impulses 0.12 mJ/mm2'.
    """
    f = fold(text)
    m = _ESWT.search(f)
    if m:
        energy = parse_number(m.group("e"))
        return f"{int(m.group('p'))} impulses {_fmt(energy or 0)} mJ/mm2", None
    volume: float | None = None
    mass: float | None = None
    for d in _DOSE.finditer(f):
        v = parse_number(d.group("v"))
        if v is None:
            continue
        unit = _UNIT[d.group("u")]
        if unit == "ml" and volume is None:
            volume = v
        elif unit == "mg" and mass is None:
            mass = v
    conc = _CONC.search(f)
    if volume is not None and conc:
        return f"{_fmt(volume)} ml {_fmt(parse_number(conc.group('v')) or 0)} mg/ml", volume
    if volume is not None:
        return f"{_fmt(volume)} ml", volume
    if mass is not None:
        return f"{_fmt(mass)} mg", None
    return None, None


_SESSIONS = re.compile(
    r"(?P<n>\d{1,3})\s*(?:sesiones|sesion|ses\.|ses\b|sessions?|visits|infiltraciones|infiltracion|inyecciones|"
    r"injections?|inj\b|inf\.|inf\b|shots|dosis|applications|aplicaciones)"
    r"|(?P<one>dosis unica|unica inf\w*|inf\w* unica|single in\w*|one-off in\w*|single dose|una sola inf\w*)")


_SESSION_WORDS = ("sesiones", "sesion", "sessions", "session", "infiltraciones", "infiltracion", "inyecciones",
                  "inyeccion", "injections", "injection", "aplicaciones", "applications")
# A session word typed with two letters swapped ('1 inejction', '3 sesoines'), the commonest slip of a hurried note.
_SWAPPED = frozenset(w[:i] + w[i + 1] + w[i] + w[i + 2:] for w in _SESSION_WORDS for i in range(1, len(w) - 1)
                     if w[i] != w[i + 1]) - frozenset(_SESSION_WORDS)
_NUMBER_WORD = re.compile(r"(?<![\d.,])(?P<n>\d{1,3})\s*(?P<w>[a-z]{6,16})\b")


def sessions_of(text: str) -> int | None:
    """Number of sessions or injections written in a piece of text ('3 infiltraciones', 'single injection' -> 1)."""
    f = fold(text)
    m = _SESSIONS.search(f)
    swapped = next((x for x in _NUMBER_WORD.finditer(f) if x.group("w") in _SWAPPED), None)
    if swapped and (not m or swapped.start() < m.start()):
        n = int(swapped.group("n"))
        return n if 1 <= n <= 200 else None
    if not m:
        return None
    if m.group("one"):
        return 1
    n = int(m.group("n"))
    return n if 1 <= n <= 200 else None
