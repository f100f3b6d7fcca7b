"""The data-quality report of an extraction run: missing fields, implausible values, dates in the future,
notes contradicting the clinic's tables, and notes where the LLM's output was not used.

Issues name the case (pseudonym), the document id and the field; details carry values and vocabulary ids only,
never note text, so the report can be shared with whoever fixes the records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

from casewise.vocabulary import category_of
from indexing.assemble import CaseFacts, merge
from indexing.extraction.interface import facts_from
from indexing.extraction.records import BatchResult, NoteRecord

Severity = Literal["error", "warning"]
Kind = Literal["implausible", "future_date", "missing", "contradiction", "llm_fallback"]
DOSED = frozenset({"injection", "biologic"})  # categories whose dose a record should carry
VALUE_TOLERANCE = 0.01


@dataclass(frozen=True)
class Issue:
    severity: Severity
    kind: Kind
    case_id: str | None
    doc_id: str
    field: str
    detail: str


@dataclass
class QualityReport:
    documents: int
    notes: int
    table_cases: int
    issues: list[Issue]
    unreadable: int = 0

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(i.kind for i in self.issues).items()))

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "notes": self.notes, "table_cases": self.table_cases,
                "unreadable_files": self.unreadable, "issue_counts": self.counts(),
                "issues": [asdict(i) for i in self.issues]}

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items()) or "no issues"
        return (f"data quality: {self.documents} documents ({self.notes} notes, {self.table_cases} table cases); "
                f"{counts}")


def check(batch: BatchResult) -> QualityReport:
    issues: list[Issue] = []
    for rec in batch.notes:
        issues.extend(_note_issues(rec))
    for t in batch.tables:
        for tr in t.facts.treatments:
            if tr.date and tr.date > t.today:
                issues.append(Issue("error", "future_date", t.case_id, t.doc_id, f"treatment.{tr.name}.date",
                                    f"{tr.date.isoformat()} is in the future"))
        for o in t.facts.outcomes:
            issue = _implausible_value(o.measure, o.value)
            if issue:
                issues.append(Issue("error", "implausible", t.case_id, t.doc_id, f"outcome.{o.measure}", issue))
    categories = {t.name: t.category for r in batch.notes for t in r.extraction.treatments}
    categories.update({tid: category_of(tid) for t in batch.tables for tid in (x.name for x in t.facts.treatments)
                       if tid not in categories})
    issues.extend(_missing(batch, categories))
    issues.extend(_contradictions(batch))
    return QualityReport(batch.documents, len(batch.notes), len(batch.tables), issues, len(batch.unreadable))


_RANGES = {"VAS": (0.0, 10.0), "WOMAC": (0.0, 96.0), "KOOS": (0.0, 100.0), "LEQUESNE": (0.0, 24.0),
           "ROM": (0.0, 180.0)}


def _implausible_value(measure: str, value: float) -> str | None:
    lo, hi = _RANGES.get(measure, (float("-inf"), float("inf")))
    return None if lo <= value <= hi else f"{value:g} is outside {lo:g}-{hi:g}"


def _note_issues(rec: NoteRecord) -> list[Issue]:
    n = rec.extraction
    out: list[Issue] = []

    def add(severity: Severity, kind: Kind, field: str, detail: str) -> None:
        out.append(Issue(severity, kind, rec.case_id, rec.doc_id, field, detail))

    if n.fallback:
        add("warning", "llm_fallback", "backend", n.fallback)
    if rec.case_id is None:
        add("warning", "missing", "patient", "no record number found: the note links to no case")
    for o in n.outcomes:
        if not o.plausible:
            add("error", "implausible", f"outcome.{o.measure}", f"{o.value:g} at {o.months:g} months is outside the "
                f"measure's range")
    planned = set(n.follow_up_dates)  # a planned visit may well be in the future
    treated = {t.date: t.name for t in n.treatments if t.date}
    for d in sorted((set(n.dates) | set(treated)) - planned):
        if d > rec.today:
            field = f"treatment.{treated[d]}.date" if d in treated else "date"
            add("error", "future_date", field, f"{d.isoformat()} is in the future")
    return out


def _missing(batch: BatchResult, categories: dict[str, str | None]) -> list[Issue]:
    """What no record of a case holds: a diagnosis, the dose of an injection, the baseline of a score series.

    Judged per case, not per note: a follow-up note need not repeat the diagnosis or the dose.
    """
    facts: dict[str, list[tuple[str, CaseFacts]]] = {}
    for rec in batch.notes:
        if rec.case_id:
            facts.setdefault(rec.case_id, []).append((rec.doc_id, facts_from(rec.extraction)))
    for t in batch.tables:
        facts.setdefault(t.case_id, []).append((t.doc_id, t.facts))
    out = []
    for cid, items in sorted(facts.items()):
        case = merge(cid, items)
        docs = ",".join(sorted({d for d, _ in items}))
        if not case.diagnoses:
            out.append(Issue("warning", "missing", cid, docs, "diagnosis", "no record of the case names a diagnosis"))
        for tr in case.treatments:
            if (categories.get(tr.name) or "") in DOSED and not tr.dose:
                out.append(Issue("warning", "missing", cid, docs, f"treatment.{tr.name}.dose",
                                 "no record of the case gives the dose or volume"))
        series: dict[tuple[str | None, str], set[float]] = {}
        for o in case.outcomes:
            series.setdefault((o.treatment, o.measure), set()).add(o.months)
        for (tname, measure), months in sorted(series.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            if 0.0 not in months:
                out.append(Issue("warning", "missing", cid, docs, f"outcome.{measure}.baseline", f"{tname or 'unattributed'}: follow-up at "
                                 f"{', '.join(f'{m:g}' for m in sorted(months))} months but no baseline"))
    return out


def _contradictions(batch: BatchResult) -> list[Issue]:
    """Where a note and the clinic's table disagree about the same case."""
    table: dict[str, CaseFacts] = {}
    table_doc: dict[str, str] = {}
    for t in batch.tables:
        table.setdefault(t.case_id, CaseFacts())
        cur = table[t.case_id]
        cur.diagnoses += t.facts.diagnoses
        cur.treatments += t.facts.treatments
        cur.outcomes += t.facts.outcomes
        table_doc.setdefault(t.case_id, t.doc_id)
    out: list[Issue] = []
    for rec in batch.notes:
        if rec.case_id is None or rec.case_id not in table:
            continue
        note = facts_from(rec.extraction)
        tab = table[rec.case_id]
        where = f"{rec.doc_id} vs {table_doc[rec.case_id]}"

        def add(field: str, detail: str, _rec: NoteRecord = rec, _where: str = where) -> None:
            out.append(Issue("warning", "contradiction", _rec.case_id, _where, field, detail))

        t_diag = {d.name: d for d in tab.diagnoses}
        n_diag = {d.name: d for d in note.diagnoses}
        if t_diag and n_diag and not set(t_diag) & set(n_diag):
            add("diagnosis", f"note says {', '.join(sorted(n_diag))}; table says {', '.join(sorted(t_diag))}")
        for name in set(t_diag) & set(n_diag):
            a, b = n_diag[name].side, t_diag[name].side
            if a and b and a != b:
                add(f"diagnosis.{name}.side", f"note says {a}; table says {b}")
        t_tr = {t.name: t for t in tab.treatments}
        for tr in note.treatments:
            other = t_tr.get(tr.name)
            if other is None:
                continue
            if tr.dose and other.dose and _dose_norm(tr.dose) != _dose_norm(other.dose):
                add(f"treatment.{tr.name}.dose", f"note says {tr.dose}; table says {other.dose}")
            if tr.sessions and other.sessions and tr.sessions != other.sessions:
                add(f"treatment.{tr.name}.sessions", f"note says {tr.sessions}; table says {other.sessions}")
            if tr.date and other.date and abs((tr.date - other.date).days) > 0:
                add(f"treatment.{tr.name}.date", f"note says {tr.date.isoformat()}; table says {other.date.isoformat()}")
        t_out = {(o.treatment, o.measure, o.months): o.value for o in tab.outcomes}
        only = next(iter(t_tr)) if len(t_tr) == 1 else None
        for o in note.outcomes:
            key = (o.treatment or only, o.measure, o.months)
            tv = t_out.get(key)
            if tv is not None and abs(tv - o.value) > VALUE_TOLERANCE:
                add(f"outcome.{o.measure}.{o.months:g}m", f"note says {o.value:g}; table says {tv:g}")
    return out


def _dose_norm(dose: str) -> str:
    from indexing.extraction.normalize import normalize_dose

    canon, _ = normalize_dose(dose)
    return (canon or dose).lower()

