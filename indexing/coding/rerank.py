"""A code's confidence in a note from everything its mentions show, not from its best term alone.

For each (note, code) the matcher proposes, a few features (how precise its terms were on the learning notes, how
often they were tested, how many distinct terms and mentions support it, where its terms were learned from, how
common the code is, how many codes of its category compete) go through a logistic regression learned per kind on
the learning notes' leave-one-note-out candidates. English gains most: its terms, projected from Spanish evidence
onto machine translations, are noisier, and one precision per term ranked its candidates worse than the Spanish.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SOURCES = ("span", "translated", "term", "scattered")
L2 = 1.0  # ridge penalty of the logistic regression (features are few and standardised)
NEWTON_STEPS = 25


@dataclass(frozen=True, slots=True)
class Support:
    """One term that proposes the code in the note: its confidence, how often it fired while learning, its source
    and its number of words."""

    confidence: float
    fires: int
    source: str
    words: int


def combine(confidences: Sequence[float]) -> float:
    """A code's confidence from the confidences of the distinct terms that support it in one note (noisy-or)."""
    miss = 1.0
    for c in confidences:
        miss *= 1.0 - min(1.0, max(0.0, c))
    return 1.0 - miss


def _logit(p: float) -> float:
    p = min(1 - 1e-4, max(1e-4, p))
    return math.log(p / (1 - p))


def features(supports: Sequence[Support], *, mentions: int, code_notes: int, notes: int, rivals: int) -> list[float]:
    """The feature vector of one (note, code): `mentions` distinct places it is written, `code_notes` learning notes
    coded with it out of `notes`, `rivals` other candidate codes of its category in the note."""
    best = max(supports, key=lambda s: s.confidence)
    confs = [s.confidence for s in supports]
    return [
        _logit(combine(confs)),
        _logit(best.confidence),
        math.log1p(len(supports)),
        math.log1p(max(s.fires for s in supports)),
        math.log1p(mentions),
        _logit((code_notes + 0.5) / (notes + 1.0)),
        math.log1p(rivals),
        float(best.words),
        *(float(best.source == src) for src in SOURCES),
    ]


@dataclass
class Reranker:
    """Logistic regression over standardised features: weights[0] is the bias."""

    weights: list[float]
    mean: list[float]
    scale: list[float]

    def score(self, x: Sequence[float]) -> float:
        z = self.weights[0] + sum(w * (v - m) / s for w, v, m, s in zip(self.weights[1:], x, self.mean, self.scale,
                                                                          strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, list[float]]:
        return {"weights": [round(w, 6) for w in self.weights], "mean": [round(m, 6) for m in self.mean],
                "scale": [round(s, 6) for s in self.scale]}

    @classmethod
    def from_json(cls, data: dict[str, list[float]]) -> Reranker:
        return cls(list(data["weights"]), list(data["mean"]), list(data["scale"]))


def fit(rows: Sequence[Sequence[float]], labels: Sequence[bool]) -> Reranker | None:
    """Newton's method on the L2-penalised log-likelihood; None without both outcomes to learn from."""
    if not rows or all(labels) or not any(labels):
        return None
    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[0] = 0.0  # the bias is not shrunk
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return Reranker(w.tolist(), mean.tolist(), scale.tolist())
