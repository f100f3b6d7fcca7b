"""ICD-10-CM coding conventions the coder follows after matching, where a clinician would see a code a coder would not
write: the side a note states, a symptom that a coded diagnosis includes, and treatment names whose words are also
findings' words.

- Laterality: a code for an unspecified side ('Pain in unspecified knee', M25.569) becomes the code of the side the
  mention states ('rodilla dcha' -> M25.561), as ICD-10-CM asks wherever the side is documented; osteoarthritis of
  an unspecified site (M19.90) where the mention names the knee or the hip becomes M17 / M16.
- R52 (pain, unspecified) Excludes1 pain of a specified site (code to pain by site), and a symptom integral to a
  coded condition is not coded apart: R52 is dropped beside a site-specific pain or a musculoskeletal condition.
- 'shock wave' / 'ondas de choque' name a treatment: 'shock' in it is no circulatory shock (R57.9), 'wave' no ECG.
"""

from __future__ import annotations

import re
from functools import lru_cache

from casewise.errors import ConfigError
from indexing.coding import terminology
from indexing.coding.text import fold

SIDES = ("right", "left")
# Unspecified-side codes whose side-specific codes the labels alone do not pair ('Osteoarthritis of knee,
# unspecified' has no 'right' sibling; a unilateral one of a stated side is the primary one, M17.11 / M17.12).
_EXPLICIT: dict[str, dict[str, str]] = {
    "m17.9": {"right": "m17.11", "left": "m17.12", "bilateral": "m17.0"},
    "m17.10": {"bilateral": "m17.0"},
    "m16.9": {"right": "m16.11", "left": "m16.12", "bilateral": "m16.0"},
    "m16.10": {"bilateral": "m16.0"},
}
_UNSPECIFIED = re.compile(r"\bunspecified\b")
# Osteoarthritis of an unspecified site where the mention names the joint: the joint's own category
# ('artrosis de rodilla', 'OA of the knee' -> M17.9, then M17.11 / M17.12 with its side).
_SITED: dict[str, dict[str, str]] = {
    "m19.90": {"knee": "m17.9", "hip": "m16.9"},
    "m19.91": {"knee": "m17.9", "hip": "m16.9"},
}

UNSPECIFIED_PAIN = "r52"
# Pain coded by its site (R52's Excludes1) and conditions whose pain is part of them (ICD-10-CM chapter 13).
_SITE_PAIN = ("r10", "r07", "r51", "m25.5", "m54", "m79.6", "m79.1", "g89", "g56")
_INTEGRAL_CHAPTERS = ("m",)

# Names of treatments whose words are also the words of findings or tests.
TREATMENT_NAMES = re.compile(
    r"\b(?:ondas? de choque(?: extracorporeas?| radiales?| focales?)?|(?:extracorporeal |radial |focused )?"
    r"shock[- ]?waves?(?: therapy)?|tratamiento con ondas|terapia de ondas)\b")


@lru_cache(maxsize=1)
def _lateral() -> dict[str, dict[str, str]]:
    """Unspecified-side code -> {side: code of that side}, from ICD-10-CM labels of sibling codes that differ only
    in 'unspecified' against 'right' / 'left'."""
    try:
        labels = terminology.english_labels()
    except ConfigError:
        return dict(_EXPLICIT)
    by_label = {(code[:-1], label.lower()): code for code, label in labels.items()}
    out: dict[str, dict[str, str]] = {}
    for code, label in labels.items():
        low = label.lower()
        if not _UNSPECIFIED.search(low):
            continue
        for side in SIDES:
            other = by_label.get((code[:-1], _UNSPECIFIED.sub(side, low, count=1)))
            if other and other != code:
                out.setdefault(code, {})[side] = other
    for code, sides in _EXPLICIT.items():
        out.setdefault(code, {}).update(sides)
    return out


def with_side(code: str, side: str | None) -> str:
    """The code of the stated side where `code` is for an unspecified one and the terminology has it; else `code`."""
    if side is None:
        return code
    return _lateral().get(code, {}).get(side, code)


def sited(code: str) -> bool:
    """True for a code of an unspecified site that `with_site` may make specific."""
    return code in _SITED


def with_site(code: str, sites: frozenset[str]) -> str:
    """The code of the one joint the mention names where `code` is for an unspecified site; else `code`."""
    options = _SITED.get(code)
    if not options:
        return code
    named = [options[s] for s in sites if s in options]
    return named[0] if len(named) == 1 else code


def integral_symptom(code: str, others: set[str]) -> bool:
    """True for R52 beside a code of pain by site or a musculoskeletal condition (other diagnosis codes kept)."""
    if code != UNSPECIFIED_PAIN:
        return False
    return any(o.startswith(_SITE_PAIN) or o.startswith(_INTEGRAL_CHAPTERS) for o in others if o != code)


def treatment_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of treatment names whose words a mention must not be coded from ('shock wave therapy')."""
    folded = fold(text)
    if len(folded) != len(text):  # folding changed offsets (rare ligatures): match on the text itself
        folded = text.lower()
    return [(m.start(), m.end()) for m in TREATMENT_NAMES.finditer(folded)]
