"""Write an extraction run as one long table (CSV, JSONL or XLSX): one row per diagnosis, treatment, score,
adverse event or planned follow-up, keyed by the case pseudonym and the document id.

The table carries no identifiers: no names, record numbers or file paths (a file name can hold a patient's name),
only pseudonyms, document ids, vocabulary ids, values and de-identified (shifted) dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from casewise.errors import CasewiseError
from indexing.extraction.records import BatchResult

COLUMNS = ("case_id", "doc_id", "source", "backend", "fallback", "kind", "name", "category", "icd10", "side",
           "severity", "dose", "volume_ml", "sessions", "date", "measure", "value", "months", "treatment",
           "plausible", "span_start", "span_end")
FORMATS = (".csv", ".jsonl", ".xlsx")


def rows(batch: BatchResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    base: dict[str, Any]
    for rec in batch.notes:
        n = rec.extraction
        base = {"case_id": rec.case_id, "doc_id": rec.doc_id, "source": "note", "backend": n.backend,
                "fallback": n.fallback}
        for d in n.diagnoses:
            out.append({**base, "kind": "diagnosis", "name": d.name, "icd10": d.icd10, "side": d.side,
                        "severity": d.severity, **_span(d.span)})
        for t in n.treatments:
            out.append({**base, "kind": "treatment", "name": t.name, "category": t.category, "side": t.side,
                        "dose": t.dose, "volume_ml": t.volume_ml, "sessions": t.sessions, "date": t.date,
                        **_span(t.span)})
        for o in n.outcomes:
            out.append({**base, "kind": "outcome", "name": o.measure, "measure": o.measure, "value": o.value,
                        "months": o.months, "treatment": o.treatment, "plausible": o.plausible, **_span(o.span)})
        for a in n.adverse_events:
            out.append({**base, "kind": "adverse_event", "name": a.name, "treatment": a.treatment, **_span(a.span)})
        for planned in n.follow_up_dates:
            out.append({**base, "kind": "follow_up", "name": "follow_up", "date": planned})
    for table in batch.tables:
        base = {"case_id": table.case_id, "doc_id": table.doc_id, "source": "table", "backend": "table",
                "fallback": None}
        for dx in table.facts.diagnoses:
            out.append({**base, "kind": "diagnosis", "name": dx.name, "icd10": dx.icd10, "side": dx.side,
                        "severity": dx.severity})
        for tr in table.facts.treatments:
            out.append({**base, "kind": "treatment", "name": tr.name, "side": tr.side, "dose": tr.dose,
                        "sessions": tr.sessions, "date": tr.date})
        for oc in table.facts.outcomes:
            out.append({**base, "kind": "outcome", "name": oc.measure, "measure": oc.measure, "value": oc.value,
                        "months": oc.months, "treatment": oc.treatment})
        for event in table.facts.adverse_events:
            out.append({**base, "kind": "adverse_event", "name": event})
    return [{c: r.get(c) for c in COLUMNS} for r in out]


def _span(span: tuple[int, int] | None) -> dict[str, int | None]:
    return {"span_start": span[0] if span else None, "span_end": span[1] if span else None}


def _cell(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def write(batch: BatchResult, out: Path) -> int:
    """Write the rows to `out` in the format its suffix names; returns the number of rows."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise CasewiseError(f"--out {out}: unknown format {suffix or '(none)'}; use {', '.join(FORMATS)}")
    data = rows(batch)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            for r in data:
                w.writerow({k: "" if v is None else _cell(v) for k, v in r.items()})
    elif suffix == ".jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for r in data:
                fh.write(json.dumps({k: _cell(v) for k, v in r.items()}, ensure_ascii=False) + "\n")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "extraction"
        ws.append(list(COLUMNS))
        for r in data:
            ws.append([_cell(r[c]) for c in COLUMNS])
        wb.save(out)
    return len(data)
