"""The Markdown summary: headline numbers per section, for a commit message, a ticket or a chat."""

from __future__ import annotations

from eval.report.model import Report
from eval.report.render_util import format_value


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", f"Run `{report.run_id}`, {report.created_at}", ""]
    for k, v in report.context.items():
        lines.append(f"- **{k}**: {v}")
    if report.context:
        lines.append("")
    if report.highlights:
        lines += ["## At a glance", "", "| | value | meaning |", "|---|---|---|"]
        lines += [f"| {h.label} | {h.value} | {h.hint} |" for h in report.highlights]
        lines.append("")
    for note in report.notes:
        lines.append(f"> {note}")
    if report.notes:
        lines.append("")
    for s in report.sections:
        lines += [f"## {s.title}", ""]
        if s.note:
            lines += [s.note, ""]
        if s.metrics:
            lines += ["| metric | value |", "|---|---|"]
            lines += [f"| {s.label(m)} | {format_value(m, v)} |" for m, v in s.metrics.items()]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
