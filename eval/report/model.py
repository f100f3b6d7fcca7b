"""The report as data: sections of named metrics, tables and charts. Renderers (HTML, Markdown) and the history
read only this, so any evaluation (retrieval, Ragas, de-identification, MCQ accuracy ...) adds a section from its
metric dict with `section_from_metrics` and gets tables, trend lines and the API listing for free."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = 1
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass
class Chart:
    """A plot described by its data; drawn by matplotlib when the HTML is written."""

    kind: Literal["line", "bar", "barh"]
    title: str
    x: list[Any]
    series: dict[str, list[float | None]]
    x_label: str = ""
    y_label: str = ""
    y_range: tuple[float, float] | None = (0.0, 1.0)
    note: str = ""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    title: str = ""


@dataclass
class Section:
    """One part of a report. `metrics` are the headline numbers (they get trend lines across runs)."""

    key: str
    title: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)       # metric -> what a reader should call it
    lower_is_better: list[str] = field(default_factory=list)    # e.g. leak rate, latency
    note: str = ""
    status: Literal["ok", "warn", "fail", "info"] = "info"
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def label(self, metric: str) -> str:
        return self.labels.get(metric, metric)


@dataclass
class Highlight:
    """A number a clinic director should see first, with one line on what it means."""

    label: str
    value: str
    hint: str = ""
    status: Literal["ok", "warn", "fail", "info"] = "info"


@dataclass
class Report:
    """One evaluation run."""

    run_id: str
    kind: str
    title: str
    created_at: str
    context: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    highlights: list[Highlight] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def headline(self) -> dict[str, float]:
        """Flat `section.metric -> value` of every number in the run (what trend lines are drawn from)."""
        return {f"{s.key}.{m}": v for s in self.sections for m, v in s.metrics.items() if _finite(v)}  # type: ignore[misc]

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def add(self, section: Section) -> Section:
        self.sections.append(section)
        return section

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["headline"] = self.headline()
        return _clean(d)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        sections = []
        for s in d.get("sections") or []:
            s = dict(s)
            s["tables"] = [Table(**t) for t in s.get("tables") or []]
            charts = []
            for c in s.get("charts") or []:
                c = dict(c)
                if c.get("y_range") is not None:
                    c["y_range"] = tuple(c["y_range"])
                charts.append(Chart(**c))
            s["charts"] = charts
            sections.append(Section(**s))
        return cls(run_id=d["run_id"], kind=d.get("kind", "run"), title=d.get("title", d["run_id"]),
                   created_at=d["created_at"], context=dict(d.get("context") or {}), sections=sections,
                   notes=list(d.get("notes") or []),
                   highlights=[Highlight(**h) for h in d.get("highlights") or []],
                   schema_version=int(d.get("schema_version", SCHEMA_VERSION)))


def new_run_id(kind: str, now: dt.datetime | None = None) -> str:
    """Sortable, URL-safe id: UTC time then the kind, e.g. 20261129T161500Z-run."""
    now = now or dt.datetime.now(dt.UTC)
    slug = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "eval"
    return f"{now.strftime('%Y%m%dT%H%M%S')}{now.microsecond // 1000:03d}Z-{slug}"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf become None, tuples lists."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def section_from_metrics(key: str, title: str, metrics: Mapping[str, Any], *, labels: Mapping[str, str] | None = None,
                         note: str = "", lower_is_better: list[str] | None = None) -> Section:
    """A section from any metric dict: numbers become headline metrics; a dict of dicts becomes a table
    (one row per key); other values are ignored. E.g. {"accuracy": 0.61, "per_subject": {"cardio": {"accuracy": .7}}}."""
    section = Section(key=key, title=title, labels=dict(labels or {}), note=note,
                      lower_is_better=list(lower_is_better or []))
    for name, value in metrics.items():
        if _finite(value):
            section.metrics[name] = float(value)
        elif value is None:
            section.metrics[name] = None
        elif isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
            columns = sorted({c for v in value.values() for c in v})
            rows = [[str(k), *[_cell(v.get(c)) for c in columns]] for k, v in value.items()]
            section.tables.append(Table(columns=[name, *columns], rows=rows, title=labels.get(name, name)
                                        if labels else name))
    return section


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4) if math.isfinite(v) else None
    if isinstance(v, str | int | bool) or v is None:
        return v
    return str(v)
