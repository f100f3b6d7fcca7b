"""What surrounds a mention: negated or to be ruled out (then it is not coded), and which side it is on.

Uncertain mentions ('sospecha de', 'probable', 'suspected') are coded, as ICD-10 coding guidelines and CodiEsp's
annotators do; only negation and 'rule out' leave a mention uncoded.

NegEx-style: a trigger opens a scope of a few words to its right, within the sentence, closed early by a word that
turns the sentence ('pero', 'but'). Post-triggers ('... descartada', '... was ruled out') look to the left.
"""

from __future__ import annotations

import re

from indexing.coding.text import fold

SCOPE_WORDS = 5  # NegEx's window

_PRE = [
    # Spanish
    r"no", r"sin", r"niega", r"negaba", r"nego", r"ni", r"ausencia de", r"libre de", r"negativ[oa]s? (?:para|a)",
    r"no (?:se )?(?:observa|objetiva|evidencia|aprecia|detecta|encuentra|identifica|palpa)n?", r"sin evidencia de",
    r"descartar", r"descartandose", r"se descarto", r"para descartar",
    r"no presenta(?:ba)?", r"no refiere", r"no hay", r"no habia", r"exento de",
    # English
    r"no", r"not", r"without", r"denies", r"denied", r"deny", r"negative for", r"no evidence of", r"no signs? of",
    r"absence of", r"free of", r"rule out", r"ruled out", r"r/o", r"to exclude", r"neither", r"nor",
]
_POST = [r"(?:(?:fue|fueron|ha sido|han sido|queda|quedo|es|era) )?descartad[oa]s?", r"negativ[oa]s?", r"(?:was|were|is|are|been) (?:ruled out|excluded|negative)",
         r"ausentes?", r"unlikely", r"improbable"]
_TERMINATORS = r"pero|aunque|salvo|excepto|sin embargo|si bien|but|however|although|except|aside from|apart from|que"

PRE_TRIGGER = re.compile(r"\b(?:" + "|".join(sorted(set(_PRE), key=len, reverse=True)) + r")\b")
POST_TRIGGER = re.compile(r"^\s*(?:" + "|".join(_POST) + r")\b")
TERMINATOR = re.compile(r"\b(?:" + _TERMINATORS + r")\b|[.;:!?\n]")
WORDS = re.compile(r"[^\W_]+")

SIDE_WORDS = {"derech": "right", "right": "right", "izquierd": "left", "left": "left", "bilateral": "bilateral",
              "amb": "bilateral", "both": "bilateral", "dch": "right", "drch": "right", "izq": "left", "izd": "left",
              "rt": "right", "lt": "left"}
# with the abbreviations clinicians write ('rodilla dcha', 'hombro izdo', 'izq.', 'rt knee', 'lt shoulder')
SIDE = re.compile(r"\b(derech[oa]s?|izquierd[oa]s?|right|left|bilateral(?:es)?|ambos|ambas|both|"
                  r"dch[oa]|drch[oa]|dch|izq(?:d[oa])?|izd[oa]|rt|lt)\b")
# English writes the side before the site: 'lt knee pain', 'L knee pain' (a capital L or R alone, only there)
SIDE_BEFORE = re.compile(r"\b(right|left|rt|lt|bilateral)\.?\s*$")
LETTER_BEFORE = re.compile(r"(?<![\w.])([LR])\.?\s*$")


def negated(text: str, start: int, end: int) -> bool:
    """True when the mention text[start:end] is negated or only to be ruled out."""
    left = fold(text[max(0, start - 120):start])
    cut = max((m.end() for m in TERMINATOR.finditer(left)), default=0)
    left = left[cut:]
    for m in PRE_TRIGGER.finditer(left):
        if len(WORDS.findall(left[m.end():])) <= SCOPE_WORDS:
            return True
    right = fold(text[end:end + 40])
    return POST_TRIGGER.match(right) is not None


def side_of(text: str, start: int, end: int) -> str | None:
    """'right', 'left' or 'bilateral' when written in the mention or the three words after it, else in the word just
    before it."""
    inside = SIDE.findall(fold(text[start:end]))
    after = fold(text[end:end + 30])
    stop = TERMINATOR.search(after)
    after = " ".join(WORDS.findall(after[:stop.start()] if stop else after)[:3])
    found = inside or SIDE.findall(after)
    if not found:
        before = text[max(0, start - 12):start]
        if (m := SIDE_BEFORE.search(fold(before))) is not None:
            found = [m.group(1)]
        elif (m := LETTER_BEFORE.search(before)) is not None:
            found = ["right" if m.group(1) == "R" else "left"]
    if not found:
        return None
    sides = {_side(w) for w in found}
    sides = {s for s in sides if s}
    if not sides:
        return None
    return "bilateral" if len(sides) > 1 or "bilateral" in sides else sides.pop()


def _side(word: str) -> str | None:
    return next((side for prefix, side in SIDE_WORDS.items() if word.startswith(prefix)), None)


def note_side(text: str) -> str | None:
    """The one side a note states, where it states only one ('right' or 'left'); None where it states none, both or
    'bilateral'."""
    sides = {_side(w) for w in SIDE.findall(fold(text))}
    return sides.pop() if len(sides) == 1 and sides <= {"right", "left"} else None
