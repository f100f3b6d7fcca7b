"""Write a report as `<root>/<run-id>/report.json`, `report.html` and `summary.md`, with earlier runs for the trends.

Files are written to a temporary name and renamed, so a reader (the API) never sees half a report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from casewise.errors import CasewiseError
from casewise.settings import Settings
from eval.report.history import REPORT_HTML, REPORT_JSON, REPORT_MD, load_history
from eval.report.html import render_html
from eval.report.markdown import render_markdown
from eval.report.model import RUN_ID, Report

REPORTS = "reports"


class ReportError(CasewiseError):
    """A report cannot be written (folder not writable, bad run id)."""


def reports_root(settings: Settings) -> Path:
    """Where reports live by default: <data_dir>/reports."""
    return settings.data_dir / REPORTS


def write_report(report: Report, root: Path) -> Path:
    """Render and store the report; returns its folder."""
    if not RUN_ID.match(report.run_id):
        raise ReportError(f"run id {report.run_id!r}: use letters, digits, '.', '_' and '-' only")
    folder = root / report.run_id
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ReportError(f"{root}: cannot create the report folder ({exc.strerror or type(exc).__name__})") from None
    history = load_history(root, kind=report.kind)
    files = {
        REPORT_JSON: json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False),
        REPORT_HTML: render_html(report, history),
        REPORT_MD: render_markdown(report),
    }
    # The JSON goes last: it is what marks the folder as a complete run for the history and the API.
    for name in (REPORT_HTML, REPORT_MD, REPORT_JSON):
        tmp = folder / f".{name}.tmp"
        try:
            tmp.write_text(files[name], encoding="utf-8")
            os.replace(tmp, folder / name)
        except OSError as exc:
            raise ReportError(f"{folder / name}: cannot write ({exc.strerror or type(exc).__name__})") from None
    return folder
