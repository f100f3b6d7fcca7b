"""Tokens the coder matches on: folded (lower case, no accents), light-stemmed, stopwords dropped, offsets kept.

Spanish and English share one normaliser: the stemmer only strips plural and gender endings, so 'quistes renales'
and 'quiste renal' meet, and 'fractures' meets 'fracture', without merging different words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from casewise.vocabulary import deletes, one_edit  # the one typo neighbourhood, shared with the vocabulary

WORD = re.compile(r"[^\W_]+", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+|\n+")
# What de-identification writes in place of PHI ('[PERSON_3E3A]', '[NOMBRE_2]', '[FECHA]', '[ID]'): never words of the
# note ('person' was read as a misspelt 'prison', and coded as imprisonment).
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\]")

STOPWORDS = frozenset("""
a al con de del el en la las lo los o para por que se su sus u un una unos unas y e le les mas muy sobre tras ya
como entre hasta desde durante tipo nivel
an and as at by for from in into is it of on or the to with was were be been has have had this that which
""".split())

# Abbreviations written in notes; expanded before matching (the learned dictionary also learns the ones it sees).
ABBREVIATIONS: dict[str, str] = {
    # Spanish
    "hta": "hipertension arterial", "dm": "diabetes mellitus", "dm2": "diabetes mellitus tipo 2",
    "epoc": "enfermedad pulmonar obstructiva cronica", "irc": "insuficiencia renal cronica",
    "ira": "insuficiencia renal aguda", "fa": "fibrilacion auricular", "iam": "infarto agudo de miocardio",
    "tep": "tromboembolismo pulmonar", "tvp": "trombosis venosa profunda", "itu": "infeccion del tracto urinario",
    "acv": "accidente cerebrovascular", "ictus": "accidente cerebrovascular", "vih": "virus de la inmunodeficiencia humana",
    "tac": "tomografia computarizada", "rmn": "resonancia magnetica", "rm": "resonancia magnetica",
    "ecg": "electrocardiograma", "rx": "radiografia", "eco": "ecografia", "ic": "insuficiencia cardiaca",
    "lca": "ligamento cruzado anterior", "ptr": "protesis total de rodilla", "ptc": "protesis total de cadera",
    "sd": "sindrome", "sdme": "sindrome",
    # English
    "htn": "hypertension", "t2dm": "type 2 diabetes mellitus", "copd": "chronic obstructive pulmonary disease",
    "ckd": "chronic kidney disease", "aki": "acute kidney injury", "af": "atrial fibrillation", "afib": "atrial fibrillation",
    "mi": "myocardial infarction", "dvt": "deep vein thrombosis", "uti": "urinary tract infection",
    "cva": "cerebrovascular accident", "chf": "congestive heart failure", "cad": "coronary artery disease",
    "hiv": "human immunodeficiency virus", "ct": "computed tomography", "mri": "magnetic resonance imaging",
    "ekg": "electrocardiogram", "oa": "osteoarthritis", "ra": "rheumatoid arthritis", "tka": "total knee arthroplasty",
    "tkr": "total knee replacement", "tha": "total hip arthroplasty", "thr": "total hip replacement",
    "acl": "anterior cruciate ligament", "cts": "carpal tunnel syndrome", "orif": "open reduction internal fixation",
}


def fold(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in nfkd if not unicodedata.combining(ch))


def stem(token: str) -> str:
    """Strip a plural and a final gender vowel: 'renales' -> 'renal', 'izquierda' -> 'izquierd'."""
    if len(token) > 4 and token.endswith("s"):
        token = token[:-1]
        if len(token) > 5 and token.endswith("e") and token[-2] in "lnrd":
            token = token[:-1]
    if len(token) > 4 and token[-1] in "aeo":
        token = token[:-1]
    return token


@dataclass(frozen=True, slots=True)
class Token:
    norm: str
    start: int
    end: int
    sentence: int


def tokenize(text: str, *, expand: bool = True) -> list[Token]:
    """Normalised tokens of `text` with their character offsets and sentence numbers; stopwords dropped."""
    out: list[Token] = []
    sentence = 0
    last = 0
    masked = [(p.start(), p.end()) for p in PLACEHOLDER.finditer(text)] if "[" in text else []
    for m in WORD.finditer(text):
        if masked and any(a <= m.start() < b for a, b in masked):
            continue
        if SENTENCE_END.search(text, last, m.start()) is not None:
            sentence += 1
        last = m.end()
        raw = fold(m.group())
        if expand and raw in ABBREVIATIONS and m.group().upper() == m.group() or expand and raw in _ALWAYS_EXPAND:
            for part in ABBREVIATIONS[raw].split():
                if part not in STOPWORDS:
                    out.append(Token(stem(part), m.start(), m.end(), sentence))
            continue
        if raw in STOPWORDS:
            continue
        out.append(Token(stem(raw), m.start(), m.end(), sentence))
    return out


# Short lower-case words that are also abbreviations only when written in capitals ('ira' is anger, 'eco' an echo):
# everything else expands in any case.
_ALWAYS_EXPAND = frozenset(k for k in ABBREVIATIONS if len(k) >= 4 and k not in {"ictus", "afib"}) | {"ictus", "afib"}


def normalize(text: str) -> tuple[str, ...]:
    """The normalised token sequence of a term (a span, a terminology label)."""
    return tuple(t.norm for t in tokenize(text, expand=True))


def key_of(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Order-free key: 'masa retroperitoneal' and 'retroperitoneal masa' are one term."""
    return tuple(sorted(tokens))


class TypoIndex:
    """Maps a misspelt token to the known token one edit away (insertion, deletion, substitution, transposition)."""

    MIN_LEN = 6  # shorter words have too many neighbours one edit away

    def __init__(self, vocabulary: set[str], known: frozenset[str] = frozenset()) -> None:
        self.vocabulary = vocabulary
        self.known = known  # real words outside the vocabulary: never corrected into it
        self._by_delete: dict[str, str | None] = {}
        for word in vocabulary:
            if len(word) < self.MIN_LEN - 1:
                continue
            for variant in deletes(word) | {word}:
                prev = self._by_delete.get(variant, word)
                # two known words share this variant: ambiguous, never correct through it
                self._by_delete[variant] = word if prev == word else None

    def correct(self, token: str) -> str:
        if token in self.vocabulary or len(token) < self.MIN_LEN or token in self.known:
            return token
        candidates = {self._by_delete.get(v) for v in deletes(token) | {token} if v in self._by_delete}
        candidates.discard(None)
        if len(candidates) == 1:
            word = candidates.pop()
            assert word is not None
            # two words sharing a delete can be two edits apart ('person' and 'prison' both give 'prson')
            if one_edit(word, token):
                return word
        return token
