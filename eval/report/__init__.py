"""Evaluation reports: one folder per run with JSON (machines), self-contained HTML (people) and a Markdown summary.

Add a section from any metric dict with `section_from_metrics`, then `write_report(report, root)`.
"""

from eval.report.history import list_runs, load_history, load_report
from eval.report.model import Chart, Highlight, Report, Section, Table, new_run_id, now_iso, section_from_metrics
from eval.report.writer import ReportError, reports_root, write_report

__all__ = [
    "Chart",
    "Highlight",
    "Report",
    "ReportError",
    "Section",
    "Table",
    "list_runs",
    "load_history",
    "load_report",
    "new_run_id",
    "now_iso",
    "reports_root",
    "section_from_metrics",
    "write_report",
]
