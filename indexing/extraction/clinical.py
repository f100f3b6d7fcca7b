"""General clinical language (ES/EN): age, sex, side, and the diagnoses and procedures of any clinic's notes.

The regenerative-medicine vocabulary (`casewise.vocabulary`) knows a handful of conditions and injections; real
notes (operative reports, consultations, discharge summaries) name fractures, tears, arthroplasties and releases,
mostly under headings ('PREOPERATIVE DIAGNOSIS:', 'PROCEDURE:', 'Juicio clínico:'). This module adds:

- `age_of` / `sex_of`: only what the note states ('55-year-old male', 'varón de 55 años', '55 y/o F', 'Mrs.',
  'she'); never a guess from a diagnosis or a name.
- `general_vocabulary` (from `casewise.general_terms`, where the question planner reads it too): the built-in
  vocabulary with common diagnoses, procedures and conservative treatments added.
- `heading_items`: the phrases listed under diagnosis and procedure headings, for what no lexicon knows.
- `known_words`: the words clinical language writes on purpose (the ICD-10 terminologies' and the vocabularies'),
  which typo-tolerant matching never reads as a slip.

Everything works on de-identified text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from casewise.errors import ConfigError
from casewise.general_terms import general_vocabulary
from casewise.vocabulary import Vocabulary, fold

__all__ = ["HeadingItem", "age_of", "general_vocabulary", "heading_items", "joint_of_osteoarthritis", "known_words",
           "phrase_id", "sex_of", "tendon_of_tendinopathy"]


@lru_cache(maxsize=1)
def _terminology_words() -> frozenset[str]:
    """Every word of the Spanish and English ICD-10 descriptions (empty where the terminologies are not installed)."""
    from casewise.terminology import english_labels, spanish_labels

    out: set[str] = set()
    try:
        for labels in (spanish_labels(), english_labels()):
            for text in labels.values():
                out.update(re.findall(r"[a-z0-9]+", fold(text)))
    except ConfigError:
        return frozenset()
    return frozenset(out)


def known_words(vocab: Vocabulary) -> frozenset[str]:
    """Words written that way on purpose: the terminologies', the clinic vocabulary's and the general terms'."""
    return _terminology_words() | vocab.words | general_vocabulary(vocab).words

# --------------------------------------------------------------------------- age

_NUM = r"(\d{1,3}|90\+)"
# Strong forms: the number is the patient's age by its wording.
_AGE_EN = re.compile(
    rf"(?<![\d.,/]){_NUM}\s*-\s*\d/\d\s*-?\s*years?\s*-?\s*old\b"  # '2-1/2-year-old'
    rf"|(?<![\d.,/]){_NUM}\s*-?\s*years?\s*[,-]?\s*(?:and\s+)?\d{{1,2}}\s*-?\s*months?\s*-?\s*old\b"  # '5-year, 8-month-old'
    rf"|(?<![\d.,/]){_NUM}\s*[- ]?\s*(?:years?|yrs?|y)\s*[- ]?\s*(?:of\s+age\b|old\b|o\b|/o\b|\.o\.)"
    rf"|(?<![\d.,/]){_NUM}\s*(?:yo|y/o|y\.o\.|yr\.?\s*old)(?![a-z])"
    rf"|\b(?:aged?|age\s*:|age\s+is)\s*{_NUM}(?![\d.,/])(?!\s*(?:months?|weeks?|days?))")
# An infant's age: hyphenated ('6-month-old') or followed by who it is ('3 weeks old boy'), not 'a 3 weeks old cast'.
_INFANT_EN = re.compile(r"(?<![\d.,/])\d{1,2}\s*-\s*(?:months?|weeks?|days?)\s*-\s*old\b"
                        r"|(?<![\d.,/])\d{1,2}\s+(?:months?|weeks?|days?)\s+old\s+(?:male|female|boy|girl|infant|baby|"
                        r"child|neonate|newborn)\b")
_WHO_ES = (r"(?:varon|mujer|hombre|paciente|nin[oa]|chic[oa]|senor[a]?|sra\.?|sr\.?|anciano|anciana|joven|"
           r"adolescente|lactante|gestante|deportista|jubilad[oa]|trabajador[a]?)")
_AGE_ES = re.compile(
    rf"\b{_WHO_ES}(?:\s+[a-z]+){{0,3}}?\s*(?:de|,)\s*{_NUM}\s*(?:anos|a\.|a\b)"
    rf"|(?<![\d.,/]){_NUM}\s*anos\s+de\s+edad"
    rf"|\bedad\s*(?:de|:)?\s*{_NUM}(?![\d.,/])")
# 'de 55 años' alone is an age only where it is not a duration ('dolor de 2 años de evolución', 'hace 5 años').
_AGE_ES_WEAK = re.compile(rf"\bde\s+{_NUM}\s*anos(?!\s+(?:de\s+(?:evolucion|duracion|antiguedad|seguimiento|"
                          rf"tratamiento)|atras|antes))")
_DURATION_BEFORE = re.compile(r"(?:hace|desde|durante|tras|despues|a los|hasta los|mas de|menos de|unos|unas)\s*$")


def age_of(text: str) -> int | str | None:
    """The patient's age as the note states it: an integer, '90+' (de-identified), 0 for an infant, else None."""
    f = fold(text)
    best: tuple[int, int | str] | None = None
    for pat in (_AGE_EN, _AGE_ES):
        for m in pat.finditer(f):
            value = next(g for g in m.groups() if g)
            age = _age_value(value)
            if age is not None and (best is None or m.start() < best[0]):
                best = (m.start(), age)
            break  # the first of each pattern is the one that can come first
    if best is None and (infant := _INFANT_EN.search(f)):
        best = (infant.start(), 0)
    if best is None:
        for m in _AGE_ES_WEAK.finditer(f):
            if _DURATION_BEFORE.search(f[max(0, m.start() - 14):m.start()]):
                continue
            age = _age_value(m.group(1))
            if age is not None:
                return age
    return best[1] if best else None


def _age_value(value: str) -> int | str | None:
    if value.startswith("90+"):
        return "90+"
    v = int(value)
    if v > 120:
        return None
    return "90+" if v >= 90 else v


# --------------------------------------------------------------------------- sex

_FEMALE = (r"female|woman|lady|girl|mujer|femenina|senora|nina|chica|gestante|embarazada|paciente\s+mujer|"
           r"la\s+paciente|una\s+paciente")
_MALE = r"male|man|gentleman|boy|varon|hombre|masculino|senor|nino|chico|paciente\s+varon"
# 'RHF', 'LHM': right/left-handed female/male, as neurology histories open ('21 y/o RHM').
_SEX_WORD = re.compile(rf"\b(?:(?P<f>{_FEMALE}|[rl]hf)|(?P<m>{_MALE}|[rl]hm))\b")
# A word about someone else: 'his wife', 'her husband', 'the mother'.
_OTHER = re.compile(r"(?:wife|husband|mother|father|son|daughter|sister|brother|madre|padre|hijo|hija|esposa|"
                    r"esposo|marido|hermana|hermano)\W*$")
_TITLE = re.compile(r"\b(?P<t>Mrs|Ms|Miss|Mr|Sra|Sr)\.?\s+(?=\[|[A-Z])")
_PRONOUN_F = re.compile(r"\b(?:she|her|hers|herself)\b")
_PRONOUN_M = re.compile(r"\b(?:he|his|him|himself)\b")


def sex_of(text: str) -> str | None:
    """'F' or 'M' as the note states it: a sex word ('male', 'varón', 'la paciente'), a title ('Mrs.'), or the
    note's pronouns when they are all one way; None when it does not say."""
    f = fold(text)
    # The word that follows the age is about the patient ('55-year-old right-hand dominant gentleman').
    m = _AGE_EN.search(f) or _AGE_ES.search(f)
    if m:
        letter = re.match(r"\s*,?\s*([fm])\b(?!\.\w)", f[m.end():])  # '55 y/o F', '55yo M'
        if letter:
            return letter.group(1).upper()
        near = _SEX_WORD.search(f[m.end():m.end() + 60]) or _SEX_WORD.search(f[max(0, m.start() - 40):m.start()])
        if near:
            return "F" if near.group("f") else "M"
    for w in _SEX_WORD.finditer(f):
        if _OTHER.search(f[max(0, w.start() - 12):w.start()]):
            continue
        return "F" if w.group("f") else "M"
    t = _TITLE.search(text)
    if t:
        return "M" if t.group("t") in ("Mr", "Sr") else "F"
    she, he = len(_PRONOUN_F.findall(f)), len(_PRONOUN_M.findall(f))
    if she >= 2 and she >= 4 * he:
        return "F"
    if he >= 2 and he >= 4 * she:
        return "M"
    return None


# Typing slips included ('kne', 'rodiila'), as the clinic's own vocabulary has 'artrosis de rodila'.
_JOINT_OA = (("knee_oa", re.compile(r"\b(?:kne+s?|rodi+l+as?|patellofemoral|femorotibial|tibiofemoral|femoropatelar)\b")),
             ("hip_oa", re.compile(r"\b(?:hips?|cadera?s?|coxofemoral)\b")))


def joint_of_osteoarthritis(context: str) -> str | None:
    """'knee_oa' or 'hip_oa' when the words around a general 'osteoarthritis' name that joint (folded text)."""
    found = [(m.start(), oid) for oid, pat in _JOINT_OA if (m := pat.search(context))]
    return min(found)[1] if found else None


# A tendon named right before a general 'tendinopathy' ('Achilles tendinosis', 'tendinosis aquílea'): the clinic's
# site-specific diagnosis.
_TENDON_SITE = (("achilles_tendinopathy", re.compile(r"\b(?:achilles|aquiles|aquilea)\b")),
                ("patellar_tendinopathy", re.compile(r"\b(?:patellar|patelar|rotuliana?)\b")),
                ("rotator_cuff_tendinopathy", re.compile(r"\b(?:rotator cuff|manguito|supraspinatus|supraespinoso)\b")))


def tendon_of_tendinopathy(before: str, after: str) -> str | None:
    """The site-specific tendinopathy when the words right before or after a general one name its tendon."""
    found = [oid for oid, pat in _TENDON_SITE if pat.search(before[-20:]) or pat.match(after.lstrip()[:20])]
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- headings

_DX_HEAD = (r"(?:pre-?\s*operative|post-?\s*operative|pre-?\s*op|post-?\s*op|principal|primary|secondary|admitting|"
            r"discharge|final|working|clinical|preprocedure|postprocedure)?\s*(?:diagnos[ie]s|dx)|impressions?|"
            r"assessment(?:\s+and\s+plan)?|a/p|diagnosticos?(?:\s+(?:principal|definitivo|de\s+sospecha))?|"
            r"juicio\s+clinico|jc|impresion\s+diagnostica|orientacion\s+diagnostica")
_PX_HEAD = (r"(?:name\s+of\s+|title\s+of\s+|principal\s+|primary\s+)?(?:procedures?|operations?)"
            r"(?:\s+(?:performed|done))?|operative\s+procedures?|surgery\s+performed|procedimientos?"
            r"(?:\s+realizados?)?|intervencion(?:\s+quirurgica)?|tecnica\s+quirurgica|cirugia\s+realizada")
_AE_HEAD = r"(?:intraoperative\s+|postoperative\s+)?complications?|complicaciones|incidencias"
_HEADING = re.compile(rf"(?m)(?:^|(?<=\.\s))[ \t]*(?:(?P<dx>{_DX_HEAD})|(?P<px>{_PX_HEAD})|(?P<ae>{_AE_HEAD}))[ \t]*"
                      r"(?:#\s*\d+\s*)?:[ \t]*")
_NEXT_HEADING = re.compile(r"(?m)^[ \t]*[a-z][a-z /&,()-]{2,60}:")
_ITEM_SPLIT = re.compile(r"\n|;|(?:^|\s)\d{1,2}[.)]\s+|\s+and\s+(?=\d)")
_MAX_ITEM_WORDS = 16  # a list item, not a paragraph of narrative
_EMPTY = re.compile(r"^(?:none|same|same as above|as above|n/?a|ninguno|igual|idem|el mismo|misma|see above|"
                    r"unknown|pending|deferred|-+)\.?$")


@dataclass(frozen=True)
class HeadingItem:
    """One phrase listed under a diagnosis or procedure heading, with its [start, end) in the text."""

    kind: str  # "diagnosis" | "procedure" | "complication"
    text: str
    start: int
    end: int


def heading_items(text: str) -> list[HeadingItem]:
    """The phrases under 'DIAGNOSIS:', 'PROCEDURE PERFORMED:', 'Juicio clínico:', 'COMPLICATIONS:' and the like,
    one per list item."""
    f = fold(text)
    out: list[HeadingItem] = []
    for h in _HEADING.finditer(f):
        kind = "diagnosis" if h.group("dx") else "procedure" if h.group("px") else "complication"
        start = h.end()
        line_end = f.find("\n", start)
        line_end = len(f) if line_end < 0 else line_end
        if f[start:line_end].strip():  # 'DIAGNOSIS: Left carpal tunnel syndrome.': that line
            end = line_end
        else:  # a list on the lines below, up to a blank line or the next heading
            nxt = _NEXT_HEADING.search(f, line_end + 1)
            blank = re.compile(r"\n[ \t]*\n").search(f, line_end + 1)
            end = min(nxt.start() if nxt else len(f), blank.start() if blank else len(f), start + 600)
        body = f[start:end]
        pos = 0
        for piece in _ITEM_SPLIT.split(body):
            at = body.find(piece, pos) if piece else -1
            if at >= 0:
                pos = at + len(piece)
            phrase = piece.strip(" \t.,:-")
            if len(phrase) < 3 or _EMPTY.match(phrase) or at < 0 or len(phrase.split()) > _MAX_ITEM_WORDS:
                continue
            s = start + at + (len(piece) - len(piece.lstrip(" \t.,:-")))
            out.append(HeadingItem(kind, text[s:s + len(phrase)], s, s + len(phrase)))
    return out


_SIDE_WORDS = re.compile(r"\b(?:left|right|bilateral|bilaterally|izquierd[oa]s?|derech[oa]s?|bilaterales?|"
                         r"status post|s/p|history of|chronic|acute|possible|probable|the|of|a|an)\b")


def phrase_id(phrase: str) -> str:
    """A stable id for a phrase no lexicon knows: folded words without sides, qualifiers and punctuation."""
    words = re.findall(r"[a-z0-9]+", _SIDE_WORDS.sub(" ", fold(phrase)))
    return "_".join(words)[:60].strip("_")
