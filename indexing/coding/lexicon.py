"""The term dictionary: normalised terms -> ICD-10 codes, and the matcher that finds them in a note.

A term is an order-free bag of normalised tokens, matched over contiguous tokens of one sentence; typos one edit
away from a known word are corrected first. Each (term, code) pair carries how often it was right when it fired
on notes it was not learned from (`hits` / `fires`), which is what its confidence is computed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from indexing.coding.context import negated, side_of
from indexing.coding.terminology import label_words
from indexing.coding.text import Token, TypoIndex, key_of, normalize, tokenize

MAX_TERM_TOKENS = 8  # longer terminology labels are never written verbatim in a note
# where a sense was learned, most trusted first: evidence in the note's language, Spanish evidence translated
# word by word, a terminology label
SOURCES = ("span", "translated", "term", "scattered")  # scattered: an evidence term matched with its words apart
GAP_WINDOW = 5  # a term of up to 4 words may have one other word inside it
# A term of 2-4 words learned from evidence also matches with its words scattered over at most this many tokens of
# one sentence ('masa sólida de 3 cm en el riñón izquierdo'), as CodiEsp's discontinuous evidence is written; such
# matches are calibrated apart from contiguous ones (their own senses in `Lexicon.scattered`).
SCATTER_WINDOW = 6
SCATTER_MAX_TOKENS = 4


@dataclass(slots=True)
class Sense:
    """One code a term stands for, with what learning saw of it."""

    kind: str  # diagnosis | procedure
    code: str
    source: str  # one of SOURCES
    notes: int = 0  # learning notes whose evidence holds this term for this code
    hits: int = 0  # learning notes it fired on with the code in their gold
    fires: int = 0  # learning notes it fired on


@dataclass(frozen=True, slots=True)
class Match:
    term: tuple[str, ...]
    sense: Sense
    start: int
    end: int
    first: int  # token positions, for nesting
    last: int
    side: str | None


@dataclass
class Lexicon:
    terms: dict[tuple[str, ...], dict[tuple[str, str], Sense]] = field(default_factory=dict)
    max_len: int = 1
    taught: dict[str, set[int]] = field(default_factory=dict)  # learning note id -> ids of the senses it taught
    scattered: dict[tuple[str, ...], dict[tuple[str, str], Sense]] = field(default_factory=dict)
    _typos: TypoIndex | None = None
    _by_first: dict[str, list[tuple[str, ...]]] | None = None

    def add(self, tokens: tuple[str, ...], kind: str, code: str, source: str, notes: int = 0) -> Sense | None:
        if not tokens or len(tokens) > MAX_TERM_TOKENS:
            return None
        key = key_of(tokens)
        senses = self.terms.setdefault(key, {})
        sense = senses.get((kind, code))
        if sense is None:
            sense = senses[(kind, code)] = Sense(kind, code, source)
        elif SOURCES.index(source) < SOURCES.index(sense.source):
            sense.source = source
        sense.notes += notes
        self.max_len = max(self.max_len, len(key))
        self._typos = None
        return sense

    def add_scattered(self, tokens: tuple[str, ...], kind: str, code: str) -> Sense | None:
        """The scattered twin of a multi-word evidence term (see SCATTER_WINDOW)."""
        key = key_of(tokens)
        if not 2 <= len(set(key)) <= SCATTER_MAX_TOKENS or len(key) != len(set(key)):
            return None
        senses = self.scattered.setdefault(key, {})
        sense = senses.get((kind, code))
        if sense is None:
            sense = senses[(kind, code)] = Sense(kind, code, "scattered")
        self._by_first = None
        self._typos = None
        return sense

    def add_text(self, text: str, kind: str, code: str, source: str, notes: int = 0) -> Sense | None:
        return self.add(normalize(text), kind, code, source, notes)

    @property
    def typos(self) -> TypoIndex:
        if self._typos is None:
            self._typos = TypoIndex({tok for key in [*self.terms, *self.scattered] for tok in key}, label_words())
        return self._typos

    def find(self, text: str, *, tokens: list[Token] | None = None, drop_negated: bool = True,
             drop_nested: bool = True, gaps: bool = True) -> list[Match]:
        """Every term of the lexicon written in `text` (not negated), longest first where they nest."""
        toks = tokens if tokens is not None else tokenize(text)
        typos = self.typos
        norms = [typos.correct(t.norm) for t in toks]
        found: list[Match] = []
        negation_cache: dict[tuple[int, int], bool] = {}
        for i in range(len(toks)):
            for n in range(1, self.max_len + 1):
                j = i + n - 1
                if j >= len(toks) or toks[j].sentence != toks[i].sentence:
                    break
                senses = self.terms.get(key_of(tuple(norms[i:j + 1])))
                if not senses:
                    continue
                start, end = toks[i].start, toks[j].end
                if drop_negated:
                    neg = negation_cache.get((start, end))
                    if neg is None:
                        neg = negation_cache[(start, end)] = negated(text, start, end)
                    if neg:
                        continue
                side = side_of(text, start, end)
                term = tuple(sorted(norms[i:j + 1]))
                found.extend(Match(term, s, start, end, i, j, side) for s in senses.values())
        if gaps:
            found.extend(self._gapped(text, toks, norms, drop_negated, {(m.first, m.last) for m in found}))
        if self.scattered:
            found.extend(self._scattered(text, toks, norms, drop_negated))
        if drop_nested:
            found = _outermost(found)
        return found

    def _gapped(self, text: str, toks: list[Token], norms: list[str], drop_negated: bool,
                taken: set[tuple[int, int]]) -> list[Match]:
        """Terms of 2-4 words written with one word inside them ('masa sólida retroperitoneal')."""
        out: list[Match] = []
        for i in range(len(toks)):
            for n in range(3, min(GAP_WINDOW, self.max_len + 1) + 1):
                j = i + n - 1
                if j >= len(toks) or toks[j].sentence != toks[i].sentence:
                    break
                if (i, j) in taken:
                    continue
                for skip in range(i + 1, j):
                    senses = self.terms.get(key_of(tuple(norms[i:skip] + norms[skip + 1:j + 1])))
                    if not senses:
                        continue
                    start, end = toks[i].start, toks[j].end
                    if drop_negated and negated(text, start, end):
                        break
                    term = tuple(sorted(norms[i:skip] + norms[skip + 1:j + 1]))
                    side = side_of(text, start, end)
                    out.extend(Match(term, s, start, end, i, j, side) for s in senses.values())
                    break
        return out


    def _scattered_index(self) -> dict[str, list[tuple[str, ...]]]:
        if self._by_first is None:
            self._by_first = {}
            for key in self.scattered:
                self._by_first.setdefault(key[0], []).append(key)
        return self._by_first

    def _scattered(self, text: str, toks: list[Token], norms: list[str], drop_negated: bool) -> list[Match]:
        """Terms whose words all occur, in any order, within SCATTER_WINDOW tokens of one sentence."""
        by_first = self._scattered_index()
        out: list[Match] = []
        for i, norm in enumerate(norms):
            keys = by_first.get(norm)
            if not keys:
                continue
            lo, hi = max(0, i - SCATTER_WINDOW + 1), min(len(toks), i + SCATTER_WINDOW)
            near: dict[str, list[int]] = {}
            for j in range(lo, hi):
                if toks[j].sentence == toks[i].sentence:
                    near.setdefault(norms[j], []).append(j)
            for key in keys:
                if not all(w in near for w in key[1:]):
                    continue
                # the closest occurrence of each other word, and the whole within the window
                pos = [i] + [min(near[w], key=lambda j: abs(j - i)) for w in key[1:]]
                first, last = min(pos), max(pos)
                if last - first >= SCATTER_WINDOW or last - first < len(key):
                    continue  # too far apart, or written together or with one word inside (the other matchers)
                start, end = toks[first].start, toks[last].end
                if drop_negated and negated(text, start, end):
                    continue
                side = side_of(text, start, end)
                out.extend(Match(("~", *key), s, start, end, first, last, side) for s in self.scattered[key].values())
        return out


def _outermost(matches: list[Match]) -> list[Match]:
    """Drop a match lying inside a longer one of the same kind ('dolor' inside 'dolor abdominal')."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for m in matches:
        spans.setdefault(m.sense.kind, []).append((m.first, m.last))
    keep = []
    for m in matches:
        inside = any(a <= m.first and m.last <= b and (b - a) > (m.last - m.first) for a, b in spans[m.sense.kind])
        if not inside:
            keep.append(m)
    return keep


def senses_of(matches: Iterable[Match]) -> dict[tuple[str, str], list[Match]]:
    """Matches grouped by (kind, code)."""
    out: dict[tuple[str, str], list[Match]] = {}
    for m in matches:
        out.setdefault((m.sense.kind, m.sense.code), []).append(m)
    return out
