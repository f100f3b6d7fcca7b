"""Earlier runs, read back from the reports folder (`<root>/<run-id>/report.json`), for trend lines and the API."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.report.model import RUN_ID, Report

log = logging.getLogger(__name__)

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
REPORT_MD = "summary.md"
MAX_HISTORY = 200  # trend lines show at most this many earlier runs


@dataclass
class RunSummary:
    """What the reports listing shows about one run."""

    run_id: str
    kind: str
    title: str
    created_at: str
    headline: dict[str, float]
    files: list[str]


def run_dirs(root: Path) -> list[Path]:
    """Run folders under `root`, oldest first (ids start with the UTC time)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and RUN_ID.match(p.name) and (p / REPORT_JSON).is_file())


def load_report(root: Path, run_id: str) -> Report | None:
    """One run's report, or None when there is no such run (or its JSON is unreadable)."""
    if not RUN_ID.match(run_id):
        return None
    path = root / run_id / REPORT_JSON
    if not path.is_file():
        return None
    try:
        return Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable report %s: %s", run_id, type(exc).__name__)
        return None


def load_history(root: Path, kind: str | None = None, limit: int = MAX_HISTORY) -> list[Report]:
    """Earlier runs (of `kind`, when given), oldest first; unreadable ones are skipped."""
    out: list[Report] = []
    for d in run_dirs(root):
        r = load_report(root, d.name)
        if r is not None and (kind is None or r.kind == kind):
            out.append(r)
    return out[-limit:]


def list_runs(root: Path) -> list[RunSummary]:
    """Every run, newest first."""
    runs = []
    for d in reversed(run_dirs(root)):
        try:
            raw: dict[str, Any] = json.loads((d / REPORT_JSON).read_text(encoding="utf-8"))
        except ValueError:
            continue
        runs.append(RunSummary(run_id=d.name, kind=str(raw.get("kind", "")), title=str(raw.get("title", d.name)),
                               created_at=str(raw.get("created_at", "")), headline=dict(raw.get("headline") or {}),
                               files=sorted(p.name for p in d.iterdir() if p.is_file())))
    return runs
