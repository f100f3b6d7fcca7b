"""Find dates in Spanish and English text and re-write them shifted, in the format they were written in.

Shifting every date of a patient by the same offset keeps intervals (days since surgery, follow-up at 6 months).
Partial dates ("marzo 2021", "March 2021") are shifted through the 15th of the month. Bare years are kept:
they are allowed by HIPAA Safe Harbor and carry the era of a treatment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre"]
MONTHS_EN = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
             "november", "december"]
_ABBR_EN = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_ABBR_ES = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]

_MONTH_LOOKUP: dict[str, int] = {}
for _names in (MONTHS_ES, MONTHS_EN, _ABBR_EN, _ABBR_ES):
    for _i, _n in enumerate(_names):
        _MONTH_LOOKUP.setdefault(_n, _i + 1)
_MONTH_LOOKUP["setiembre"] = 9
_MONTH_LOOKUP["sept"] = 9

_ES_M = r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)"
_EN_M = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)")
_ORD = r"(?:st|nd|rd|th)?"

# Order matters: longer forms first; overlapping later matches are skipped.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})\b")),
    ("num", re.compile(r"\b(?P<a>\d{1,2})(?P<s>[/\-.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})\b(?![/\-.]\d)")),
    ("es_long", re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:º)?\s+de\s+(?P<mon>{_ES_M})(?:\s+(?P<de>de|del)\s+(?:año\s+)?(?P<y>\d{{4}}))?\b",
        re.IGNORECASE)),
    ("es_my", re.compile(rf"\b(?P<mon>{_ES_M})\s+(?:(?P<de>de|del)\s+)?(?P<y>(?:19|20)\d{{2}})\b", re.IGNORECASE)),
    ("en_mdy", re.compile(rf"\b(?P<mon>{_EN_M})\.?\s+(?P<d>\d{{1,2}}){_ORD}(?P<c>,?)\s+(?P<y>\d{{4}})\b")),
    ("en_dmy", re.compile(rf"\b(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_EN_M})\.?(?P<c>,?)\s+(?P<y>\d{{4}})\b")),
    ("en_my", re.compile(rf"\b(?P<mon>{_EN_M})\.?(?P<c>,?)\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("dm_slash", re.compile(r"\b(?P<a>\d{1,2})/(?P<y>(?:19|20)\d{2})\b")),
]


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in text: its offsets and the pattern that found it."""

    start: int
    end: int
    kind: str


def find_dates(text: str) -> list[DateMatch]:
    """All dates in `text`, non-overlapping, in order."""
    taken: list[tuple[int, int]] = []
    found: list[DateMatch] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            if kind == "num" and not _plausible_numeric(m):
                continue
            if kind == "dm_slash" and not 1 <= int(m.group("a")) <= 12:
                continue
            taken.append((m.start(), m.end()))
            found.append(DateMatch(m.start(), m.end(), kind))
    found.sort(key=lambda d: d.start)
    return found


def _plausible_numeric(m: re.Match[str]) -> bool:
    a, b = int(m.group("a")), int(m.group("b"))
    if m.group("s") == "." and len(m.group("y")) == 2:
        return False  # "1.5.10" is more likely a version or a dose than a date
    return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)


def _pad(n: int, like: str) -> str:
    return str(n).zfill(len(like))


def _year(y: int, like: str) -> str:
    return f"{y % 100:02d}" if len(like) == 2 else str(y)


def _full_year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        return 2000 + n if n <= 40 else 1900 + n
    return n


def _month_name(n: int, like: str, lang: str) -> str:
    key = like.lower().rstrip(".")
    if key in MONTHS_ES or key == "setiembre":
        name = MONTHS_ES[n - 1]
    elif key in MONTHS_EN:
        name = MONTHS_EN[n - 1]
    elif key in _ABBR_EN or key == "sept":
        name = _ABBR_EN[n - 1] if len(key) == 3 else MONTHS_EN[n - 1][:4] if n == 9 else _ABBR_EN[n - 1]
    else:
        name = (MONTHS_ES if lang == "es" else MONTHS_EN)[n - 1]
    if like.isupper() and len(like) > 1:
        return name.upper()
    if like[:1].isupper():
        return name.capitalize()
    return name


def shift_date_text(text: str, kind: str, days: int, lang: str, order: str = "auto") -> str | None:
    """Re-write one date string found by `find_dates` shifted by `days`, or None when it is not a valid date.

    `order` reads a numeric date as extraction does (`extract.date_order`): an impossible reading decides, else
    dmy and auto read the day first and mdy the month, in either language, so the shifted date is the one the
    extractor then reads (an English note of a Spanish clinic writes 08/12/2023 for 8 December).
    """
    pattern = dict(_PATTERNS)[kind]
    m = pattern.fullmatch(text)
    if m is None:
        return None
    try:
        if kind == "num":
            return _shift_num(m, days, order)
        return _SHIFTERS[kind](m, days, lang)
    except (ValueError, OverflowError):
        return None


def _shift_iso(m: re.Match[str], days: int, lang: str) -> str:
    d = dt.date(int(m["y"]), int(m["m"]), int(m["d"])) + dt.timedelta(days=days)
    s = m["s"]
    return f"{d.year}{s}{_pad(d.month, m['m'])}{s}{_pad(d.day, m['d'])}"


def _shift_num(m: re.Match[str], days: int, order: str) -> str:
    a, b = int(m["a"]), int(m["b"])
    month_first = b > 12 or (order == "mdy" and a <= 12)
    month, day = (a, b) if month_first else (b, a)
    d = dt.date(_full_year(m["y"]), month, day) + dt.timedelta(days=days)
    s = m["s"]
    first, second = (d.month, d.day) if month_first else (d.day, d.month)
    return f"{_pad(first, m['a'])}{s}{_pad(second, m['b'])}{s}{_year(d.year, m['y'])}"


def _shift_es_long(m: re.Match[str], days: int, lang: str) -> str:
    year = int(m["y"]) if m["y"] else 2000  # a leap year, so "29 de febrero" parses
    d = dt.date(year, _MONTH_LOOKUP[m["mon"].lower()], int(m["d"])) + dt.timedelta(days=days)
    out = f"{d.day} de {_month_name(d.month, m['mon'], 'es')}"
    if m["y"]:
        out += f" {m['de']} {d.year}"
    return out


def _shift_month_year(m: re.Match[str], days: int, lang: str) -> str:
    d = dt.date(int(m["y"]), _MONTH_LOOKUP[m["mon"].lower().rstrip(".")], 15) + dt.timedelta(days=days)
    name = _month_name(d.month, m["mon"], lang)
    if "de" in m.re.groupindex:
        return f"{name} {m['de']} {d.year}" if m["de"] else f"{name} {d.year}"
    return f"{name}{m['c']} {d.year}"


def _shift_en_mdy(m: re.Match[str], days: int, lang: str) -> str:
    d = dt.date(int(m["y"]), _MONTH_LOOKUP[m["mon"].lower()], int(m["d"])) + dt.timedelta(days=days)
    return f"{_month_name(d.month, m['mon'], 'en')} {d.day}{m['c']} {d.year}"


def _shift_en_dmy(m: re.Match[str], days: int, lang: str) -> str:
    d = dt.date(int(m["y"]), _MONTH_LOOKUP[m["mon"].lower()], int(m["d"])) + dt.timedelta(days=days)
    return f"{d.day} {_month_name(d.month, m['mon'], 'en')}{m['c']} {d.year}"


def _shift_dm_slash(m: re.Match[str], days: int, lang: str) -> str:
    d = dt.date(int(m["y"]), int(m["a"]), 15) + dt.timedelta(days=days)
    return f"{_pad(d.month, m['a'])}/{d.year}"


_SHIFTERS: dict[str, Callable[[re.Match[str], int, str], str]] = {
    "iso": _shift_iso,
    "es_long": _shift_es_long,
    "es_my": _shift_month_year,
    "en_mdy": _shift_en_mdy,
    "en_dmy": _shift_en_dmy,
    "en_my": _shift_month_year,
    "dm_slash": _shift_dm_slash,
}


def iter_kinds() -> Iterator[str]:
    """Names of the date patterns (for tests and docs)."""
    return (k for k, _ in _PATTERNS)
