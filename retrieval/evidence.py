"""The 'what worked' table: per treatment, how many similar cases received it and how their outcomes changed."""

from __future__ import annotations

import re
import statistics

from casewise.settings import DEFAULT_SIMILARITY_FLOOR, RetrievalSettings
from casewise.types import Case, Evidence, EvidenceRow, OutcomeSummary, SimilarCase
from casewise.vocabulary import BUILTIN, MEASURES, Vocabulary

PREFERRED_MEASURES = ("VAS", "WOMAC", "KOOS", "LEQUESNE")
# Ranking shrinks each treatment's mean gain towards no change, as if this many more cases had not changed: one lucky
# (or mis-read) case cannot put a treatment above one that helped five. Chosen on 6 synthetic clinics (`casewise eval run`):
# a skeptical prior ranked as designed as often as or more often than shrinking towards the mean of all similar cases.
PRIOR_CASES = 1.0
OFF_TIME_WEIGHT = 0.5


_ASKED_MONTHS = re.compile(
    r"(?:a los|at|after|tras|al cabo de)\s+(\d{1,2})\s*(?:meses|mes|months?|m\b)"
    r"|\b(\d{1,2})-month|\((\d{1,2})\s*(?:meses|months?)\)", re.IGNORECASE)  # not 'pain for 8 months'
_ASKED_YEARS = re.compile(
    r"\b(?:al|a un|tras un|al cabo de un|at one|at 1|after one|after a|after 1|at a|(?:a los|at|after|tras)\s+(\d))"
    r"\s+(?:años?|anos?|years?)\b(?![- ]old)|\b(?:one|1)-year\b(?!-old)", re.IGNORECASE)


def asked_months(question: str) -> float | None:
    """The follow-up time point a question asks about ('a los 3 meses', 'at 6 months', 'al año'), if any."""
    m = _ASKED_MONTHS.search(question)
    if m:
        months = float(m.group(1) or m.group(2) or m.group(3))
    elif y := _ASKED_YEARS.search(question):
        months = 12.0 * int(y.group(1) or 1)
    else:
        return None
    return months if 0 < months <= 60 else None


def _change(case: Case, treatment: str, measure: str, months: float | None = None) -> tuple[float, float] | None:
    """(follow-up minus baseline, months) at the asked time point when recorded, else at the latest follow-up.

    Scores attributed to the treatment come first; unattributed ones count only for a case with a single treatment
    (with two, an unattributed baseline may be the other treatment's).
    """
    points = [o for o in case.outcomes if o.measure == measure and o.treatment == treatment]
    if not points and len({t.name for t in case.treatments}) == 1:
        points = [o for o in case.outcomes if o.measure == measure and o.treatment is None]
    base = [o for o in points if o.months == 0]
    later = [o for o in points if o.months > 0]
    if not base or not later:
        return None
    at = [o for o in later if months is not None and o.months == months]
    last = at[0] if at else max(later, key=lambda o: o.months)
    return last.value - base[0].value, last.months


def _quartiles(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 2:
        return None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return round(q[0], 2), round(q[2], 2)


def evidence_table(cases: list[SimilarCase], months: float | None = None) -> list[EvidenceRow]:
    """Aggregate outcomes per treatment over the similar cases, best-performing treatments first.

    Order: treatments with outcomes first, by mean gain on the primary measure in MCID units shrunk towards no
    change (PRIOR_CASES; a row seen only at another time point than the asked one counts its cases at
    OFF_TIME_WEIGHT), then by number of cases.
    """
    by_treatment: dict[str, list[Case]] = {}
    for sc in cases:
        if sc.case is None:
            continue
        for name in dict.fromkeys(t.name for t in sc.case.treatments):
            by_treatment.setdefault(name, []).append(sc.case)
    rows: list[EvidenceRow] = []
    gains: dict[str, tuple[str, list[float]]] = {}  # treatment -> (primary measure, per-case gain in MCID units)
    for name, group in by_treatment.items():
        row = EvidenceRow(treatment=name, n_cases=len(group), case_ids=[c.case_id for c in group])
        follow: list[float] = []
        for measure in PREFERRED_MEASURES:
            changes = [ch for c in group if (ch := _change(c, name, measure, months)) is not None]
            if months is not None and any(m == months for _, m in changes):
                changes = [ch for ch in changes if ch[1] == months]  # the asked time point, not a mix
            if not changes:
                continue
            deltas = [d for d, _ in changes]
            _syns, higher_better, mcid = MEASURES[measure]
            improved = [(d >= mcid) if higher_better else (d <= -mcid) for d in deltas]
            if name not in gains:
                gains[name] = (measure, [(-d if not higher_better else d) / (mcid or 1.0) for d in deltas])
            at = statistics.median(m for _, m in changes)
            follow.extend(m for _, m in changes)
            row.outcomes.append(OutcomeSummary(
                measure=measure, n=len(deltas), median_change=round(statistics.median(deltas), 2),
                iqr=_quartiles(deltas), improved_share=round(sum(improved) / len(improved), 2), months=at))
        row.follow_up_months = max(follow) if follow else None
        row.adverse_events = sum(1 for c in group if c.adverse_events)
        rows.append(row)

    def rank(r: EvidenceRow) -> tuple[int, float, int]:
        if r.treatment not in gains:
            return (0, 0.0, r.n_cases)
        _measure, g = gains[r.treatment]
        w = 1.0 if (months is None or r.outcomes[0].months == months) else OFF_TIME_WEIGHT
        return (1, w * sum(g) / (w * len(g) + PRIOR_CASES), r.n_cases)

    rows.sort(key=rank, reverse=True)
    return rows


def build_evidence(query: str, cases: list[SimilarCase], cfg: RetrievalSettings,
                   vocab: Vocabulary = BUILTIN) -> Evidence:
    """The evidence for a question, with an explicit 'too little evidence' state.

    When the question names a diagnosis, only cases with that diagnosis count: what worked for a knee does not
    answer a question about an elbow, however close the rest of the description.
    """
    floor = DEFAULT_SIMILARITY_FLOOR if cfg.similarity_floor is None else cfg.similarity_floor  # Settings fills it in
    strong = [c for c in cases if c.similarity >= floor and c.case is not None]
    asked = set(vocab.find_diagnoses(query))
    if asked:
        strong = [c for c in strong if c.case is not None and asked & {d.name for d in c.case.diagnoses}]
    table = evidence_table(strong, asked_months(query))
    too_little = len(strong) < cfg.min_cases
    note = ""
    if too_little:
        which = f" with {' or '.join(sorted(asked))}" if asked else ""
        note = (f"only {len(strong)} similar case(s){which} above the similarity floor {floor:g}; "
                f"need {cfg.min_cases}")
    return Evidence(query=query, cases=cases, table=table, too_little_evidence=too_little, note=note)
