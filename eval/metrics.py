"""Evaluation metrics as small pure functions, each checkable by hand.

Retrieval metrics take a ranking (case ids, best first) and the set of relevant case ids. A question without any
relevant case has no retrieval score (None), so it neither helps nor hurts the mean. Citation validity and the
leak check are the two safety figures: a cited case that was not retrieved, or a patient identifier found in the
index, is what a clinic must never see.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


# -- retrieval ---------------------------------------------------------------------------------------------------
def precision_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """Share of the top k returned cases that are relevant (over what was returned, at most k)."""
    top = list(ranking[:k])
    if not top:
        return None
    return sum(c in relevant for c in top) / len(top)


def recall_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """Share of the relevant cases found in the top k; None without relevant cases."""
    if not relevant:
        return None
    return len(set(ranking[:k]) & set(relevant)) / len(set(relevant))


def ndcg_at_k(ranking: Sequence[str], relevant: Collection[str] | Mapping[str, float], k: int) -> float | None:
    """nDCG@k with linear gains: 1 per relevant case, or the graded gain of a mapping; None without relevant cases."""
    gains = dict(relevant) if isinstance(relevant, Mapping) else {c: 1.0 for c in relevant}
    if not gains:
        return None
    seen: set[str] = set()
    dcg = 0.0
    for r, c in enumerate(ranking[:k]):
        if c not in seen:  # a case listed twice earns its gain once
            dcg += gains.get(c, 0.0) / math.log2(r + 2)
            seen.add(c)
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else None


def reciprocal_rank(ranking: Sequence[str], relevant: Collection[str]) -> float | None:
    """1 / rank of the first relevant case (0 when none is returned); None without relevant cases."""
    if not relevant:
        return None
    return next((1.0 / (r + 1) for r, c in enumerate(ranking) if c in relevant), 0.0)


def recall_curve(rankings: Sequence[Sequence[str]], relevants: Sequence[Collection[str]],
                 ks: Iterable[int]) -> dict[int, float | None]:
    """Mean recall@k for each k, over the questions that have relevant cases."""
    return {k: mean(recall_at_k(r, rel, k) for r, rel in zip(rankings, relevants, strict=True)) for k in ks}


# -- answers -----------------------------------------------------------------------------------------------------
def ranking_ok(order: Sequence[str], better: Sequence[str], worse: Sequence[str]) -> bool | None:
    """True when each designed-better treatment found ranks above each designed-worse one found (None: not both)."""
    b = [order.index(t) for t in better if t in order]
    w = [order.index(t) for t in worse if t in order]
    if not b or not w:
        return None
    return max(b) < min(w) if len(b) == 1 else all(x < y for x in b for y in w)


def citation_validity(cited: Sequence[str], retrieved: Collection[str]) -> float | None:
    """Share of the cited case ids (each counted once) that were among the retrieved cases; None when none is cited."""
    unique = list(dict.fromkeys(cited))
    if not unique:
        return None
    return sum(c in retrieved for c in unique) / len(unique)


def abstention_rate(abstained: Sequence[bool]) -> float | None:
    """Share of the answers that abstained (said the evidence is too weak); None for no answers."""
    return sum(bool(a) for a in abstained) / len(abstained) if abstained else None


# -- aggregation -------------------------------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are numbers (None and NaN are skipped); None when nothing is left."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(xs) / len(xs) if xs else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between the two nearest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """Mean, median and 95th percentile in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {"mean_ms": mean(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}


# -- leak check --------------------------------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """Case-folded, accent-free, single-spaced text, so a name split over a line break still matches."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain).casefold().strip()


@dataclass
class LeakCheck:
    """How many known identifiers of each kind were looked for, and how many were found in stored text.

    Only counts and kinds: the identifiers themselves never enter a report.
    """

    texts_checked: int = 0
    checked: dict[str, int] = field(default_factory=dict)  # kind -> distinct identifiers looked for
    found: dict[str, int] = field(default_factory=dict)    # kind -> distinct identifiers found
    hits: int = 0                                          # (identifier, text) pairs found

    @property
    def leaked(self) -> int:
        return sum(self.found.values())

    @property
    def leak_rate(self) -> float | None:
        total = sum(self.checked.values())
        return self.leaked / total if total else None

    def recall_by_kind(self) -> dict[str, float]:
        """Share of each kind's identifiers that are absent from the stored text (1.0 = none leaked)."""
        return {k: 1.0 - self.found.get(k, 0) / n for k, n in sorted(self.checked.items()) if n}


@dataclass(frozen=True)
class KnownIdentifier:
    """An identifier known to be in the source records: its kind, its text and the case it belongs to."""

    kind: str
    text: str
    owner: str | None = None


def leak_check(texts: Sequence[tuple[str | None, str]], known: Iterable[KnownIdentifier],
               local_kinds: Collection[str] = (), min_chars: int = 4) -> LeakCheck:
    """Look for each known identifier in the stored texts ((case id, text) pairs), case- and accent-insensitively.

    Identifiers shorter than `min_chars` after normalisation are skipped (they would match anywhere). Kinds in
    `local_kinds` are looked for only in their owner's texts: a shifted date of one patient may legitimately equal
    another patient's real visit date, which is no leak.
    """
    stored = [(owner, normalize_text(t)) for owner, t in texts]
    report = LeakCheck(texts_checked=len(stored))
    seen: set[tuple[str, str, str | None]] = set()
    for item in known:
        needle = normalize_text(item.text)
        local = item.kind in local_kinds
        key = (item.kind, needle, item.owner if local else None)
        if len(needle) < min_chars or key in seen:
            continue
        seen.add(key)
        report.checked[item.kind] = report.checked.get(item.kind, 0) + 1
        n = sum(1 for owner, text in stored if (not local or owner == item.owner) and _contains(text, needle))
        if n:
            report.found[item.kind] = report.found.get(item.kind, 0) + 1
            report.hits += n
    return report


def _contains(text: str, needle: str) -> bool:
    """`needle` occurs in `text` not as part of a longer word or number ('1234' is not found in '912345')."""
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() and needle[0].isalnum()) and not (after.isalnum() and needle[-1].isalnum()):
            return True
        start = text.find(needle, start + 1)
    return False
