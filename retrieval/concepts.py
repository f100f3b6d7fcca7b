"""The concept channel of case fusion: the query's ICD-10 categories against each case's, IDF-weighted over the store."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from casewise.store import Store
from casewise.types import Case, Code

CATEGORY_CHARS = 3  # ICD-10 category ('m17' of 'm17.11'): what CodiEsp's relevance and clinicians group patients by


class QueryCoder(Protocol):
    """What the channel needs of the bundled coder (indexing.coding.coder.LexiconCoder), injected by the caller."""

    def code(self, text: str) -> list[Code]: ...


def categories(codes: Iterable[Code]) -> frozenset[str]:
    """The 3-character categories of diagnosis codes, recorded or predicted."""
    return frozenset(c.code.lower()[:CATEGORY_CHARS] for c in codes if c.kind == "diagnosis" and c.code)


@dataclass(frozen=True)
class ConceptIdf:
    """Inverse document frequency of each category over the store's cases."""

    idf: dict[str, float]
    n_cases: int

    @classmethod
    def of_cases(cls, cases: Iterable[Case]) -> ConceptIdf:
        df: Counter[str] = Counter()
        n = 0
        for case in cases:
            n += 1
            df.update(categories(case.codes))
        return cls({c: math.log(1 + n / d) for c, d in df.items()}, n)

    def weight(self, category: str) -> float:
        """A category no case has weighs as one found once."""
        return self.idf.get(category, math.log(1 + max(self.n_cases, 1)))


class ConceptIndex:
    """IDF of the store's categories, rebuilt only when the store's cases change (not per query)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: int | None = None
        self._idf = ConceptIdf({}, 0)

    def idf(self) -> ConceptIdf:
        fingerprints = self.store.case_fingerprints()
        key = hash(frozenset(fingerprints.items()))
        if key != self._key:
            self._idf = ConceptIdf.of_cases(self.store.get_cases(list(fingerprints)).values())
            self._key = key
        return self._idf


def overlap(query: frozenset[str], case: Case | None, idf: ConceptIdf) -> float:
    """0..1: the IDF mass of the query's categories the case shares."""
    if not query or case is None:
        return 0.0
    total = sum(idf.weight(c) for c in query)
    return sum(idf.weight(c) for c in query & categories(case.codes)) / total if total else 0.0


def shared_codes(query: frozenset[str], case: Case | None) -> list[str]:
    """The case's codes under the query's categories, for 'why a case matched'."""
    if not query or case is None:
        return []
    seen: list[str] = []
    for c in case.codes:
        if c.kind == "diagnosis" and c.code.lower()[:CATEGORY_CHARS] in query and c.code.upper() not in seen:
            seen.append(c.code.upper())
    return seen
