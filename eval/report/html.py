"""The self-contained HTML report: inline CSS, charts as base64 PNG, no script, no external resource.

Every value is escaped; text in a report is de-identified already (case ids, counts, metric names).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence

from eval.report.model import Chart, Report, Section, Table
from eval.report.plots import render_png, trend_charts
from eval.report.render_util import format_value

CSS = """
:root { --ink:#1d2430; --muted:#5b6575; --line:#dde2e8; --bg:#f6f7f9; --ok:#2f8a51; --warn:#b7791f; --fail:#b8434e;
        --info:#1f6f8b; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink);
       background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:22px 36px 14px; }
header .wrap { max-width:1048px; margin:0 auto; }
header h1 { margin:0 0 4px; font-size:24px; }
header .sub { color:var(--muted); font-size:13px; }
dl.context { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:12px 0 0; font-size:13px; }
dl.context dt { color:var(--muted); } dl.context dd { margin:0; }
main { max-width:1120px; margin:0 auto; padding:20px 36px 40px; }
.notes { background:#fff8e6; border:1px solid #f0d9a0; border-radius:8px; padding:10px 14px; margin:0 0 18px; }
.notes p { margin:4px 0; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(140px, 1fr)); gap:10px; margin:0 0 26px; }
.card { background:#fff; border:1px solid var(--line); border-left:5px solid var(--info); border-radius:8px;
        padding:12px 14px; }
.card.ok { border-left-color:var(--ok); } .card.warn { border-left-color:var(--warn); }
.card.fail { border-left-color:var(--fail); }
.card .label { font-size:13px; color:var(--muted); }
.card .value { font-size:24px; font-weight:650; margin:2px 0; white-space:nowrap; }
.card .value.text { font-size:17px; padding:5px 0 3px; white-space:normal; }
.card .hint { font-size:12px; color:var(--muted); }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px; margin:0 0 20px; }
section h2 { margin:0 0 6px; font-size:19px; display:flex; align-items:center; gap:10px; }
.badge { font-size:11px; font-weight:600; text-transform:uppercase; letter-spacing:.04em; border-radius:10px;
         padding:2px 9px; color:#fff; background:var(--info); }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); } .badge.fail { background:var(--fail); }
p.note { color:var(--muted); margin:4px 0 12px; font-size:14px; }
table { border-collapse:collapse; width:100%; margin:8px 0 14px; font-size:13.5px; }
th, td { text-align:left; padding:5px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f1f3f6; font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.metrics td:first-child { width:52%; }
.better { color:var(--ok); } .worse { color:var(--fail); }
.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(460px, 1fr)); gap:14px; }
p.trend-note { color:var(--muted); font-size:12.5px; margin:6px 0 0; }
figure { margin:0; } figure img { width:100%; height:auto; border:1px solid var(--line); border-radius:6px; }
figcaption { font-size:12px; color:var(--muted); margin-top:3px; }
details { margin:8px 0; } summary { cursor:pointer; color:var(--info); font-weight:600; }
footer { color:var(--muted); font-size:12.5px; max-width:1120px; margin:0 auto; padding:0 36px 30px; }
footer dl { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; }
footer dd { margin:0; }
"""
# A server that sends the report can allow exactly this style block and data: images, and nothing else (no script).
STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
REPORT_CSP = (f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
STATUS_WORD = {"ok": "pass", "warn": "check", "fail": "fail", "info": "info"}
GLOSSARY = [  # (term, meaning, shown when a metric key contains this)
    ("recall@k", "share of the past cases that should be found which are among the first k returned", "recall@"),
    ("nDCG@k", "like recall@k, but a relevant case counts more the higher it is ranked (1 = ideal order)", "ndcg"),
    ("MRR", "1 / position of the first relevant case, averaged (1 = always first)", "mrr"),
    ("faithfulness", "share of the answer's statements that the retrieved records support (Ragas, LLM judge)",
     "faithfulness"),
    ("citation validity", "share of cited case ids that were really among the retrieved cases", "citation_validity"),
    ("abstention rate", "share of questions answered with 'too little evidence'", "abstention"),
    ("leak check", "known patient identifiers looked for in what the index stores; any hit is a privacy failure",
     "identifiers_found"),
    ("token recall", "share of the words inside annotated identifiers that de-identification removed", "token_recall"),
    ("leak rate (de-identification)", "share of annotated identifier characters still in the output text",
     "notes_per_s"),
]


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def render_html(report: Report, history: Sequence[Report] = ()) -> str:
    """The whole page."""
    previous = next((r for r in reversed(history) if r.kind == report.kind and r.run_id != report.run_id), None)
    trends = dict(trend_charts(report, history))
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
             f"content='width=device-width, initial-scale=1'><title>{_e(report.title)}</title><style>{CSS}</style>"
             f"</head><body><header><div class='wrap'><h1>{_e(report.title)}</h1><div class='sub'>Run {_e(report.run_id)} · "
             f"{_e(_when(report.created_at))} UTC"
             + (f" · compared with the run of {_e(_when(previous.created_at))}" if previous else
                " · first run of this kind: no comparison yet") + "</div>"]
    if report.context:
        parts.append("<dl class='context'>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>"
                                                      for k, v in report.context.items()) + "</dl>")
    parts.append("</div></header><main>")
    if report.notes:
        parts.append("<div class='notes'>" + "".join(f"<p>{_e(n)}</p>" for n in report.notes) + "</div>")
    if report.highlights:
        parts.append("<div class='cards'>" + "".join(
            f"<div class='card {_e(h.status)}'><div class='label'>{_e(h.label)}</div>"
            f"<div class='value{'' if _numeric(h.value) else ' text'}'>{_e(h.value)}"
            f"</div><div class='hint'>{_e(h.hint)}</div></div>" for h in report.highlights) + "</div>")
    for s in report.sections:
        parts.append(_section(s, previous.section(s.key) if previous else None, trends.get(s.key)))
    keys = " ".join(m.lower() for s in report.sections for m in s.metrics)
    terms = "".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>" for t, d, when in GLOSSARY if when in keys)
    parts.append("</main><footer><p><b>How to read this report</b></p><dl>" + terms + "</dl><p>Every number is computed on "
        "de-identified data; the report holds case pseudonyms and counts, never a patient identifier.</p></footer>"
        "</body></html>")
    return "".join(parts)


def _section(s: Section, prev: Section | None, trend: Chart | None) -> str:
    badge = f"<span class='badge {_e(s.status)}'>{_e(STATUS_WORD[s.status])}</span>" if s.status != "info" else ""
    out = [f"<section id='{_e(s.key)}'><h2>{_e(s.title)} {badge}</h2>"]
    if s.note:
        out.append(f"<p class='note'>{_e(s.note)}</p>")
    if s.metrics:
        out.append("<table class='metrics'><tr><th>metric</th><th>this run</th><th>previous run</th><th>change</th></tr>")
        for m, v in s.metrics.items():
            pv = prev.metrics.get(m) if prev else None
            out.append(f"<tr><td>{_e(s.label(m))}</td><td class='num'>{_e(format_value(m, v))}</td>"
                       f"<td class='num'>{_e(format_value(m, pv)) if prev else '–'}</td>"
                       f"<td class='num'>{_change(m, v, pv, m in s.lower_is_better)}</td></tr>")
        out.append("</table>")
    first_run = trend is not None and len(trend.x) < 2
    charts = list(s.charts) + ([trend] if trend and not first_run else [])
    if charts:
        out.append("<div class='charts'>")
        for c in charts:
            out.append(f"<figure><img alt='{_e(c.title)}' src='data:image/png;base64,{render_png(c)}'>"
                       + (f"<figcaption>{_e(c.note)}</figcaption>" if c.note else "") + "</figure>")
        out.append("</div>")
    if first_run:
        out.append("<p class='trend-note'>Trend lines across runs appear here from the second run on.</p>")
    for t in s.tables:
        out.append(_table(t))
    out.append("</section>")
    return "".join(out)


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _numeric(value: str) -> bool:
    return any(ch.isdigit() for ch in value) and len(value) <= 10


def _change(metric: str, v: float | None, pv: float | None, lower_is_better: bool) -> str:
    if v is None or pv is None:
        return "–"
    d = v - pv
    if abs(d) < 1e-9:
        return "="
    text = f"{d:+.0f} ms" if metric.endswith("_ms") else f"{d:+.3f}"
    if metric.endswith("_ms") and abs(d) < 0.1 * abs(pv):
        return _e(text)  # timing noise: no colour
    good = d < 0 if lower_is_better else d > 0
    return f"<span class='{'better' if good else 'worse'}'>{_e(text)}</span>"


def _table(t: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    rows = "".join("<tr>" + "".join(
        f"<td class='num'>{_e(format_value(col, v))}</td>" if isinstance(v, int | float) and not isinstance(v, bool)
        else f"<td>{_e('n/a' if v is None else v)}</td>" for col, v in zip(t.columns, r, strict=False)) + "</tr>"
        for r in t.rows)
    title = t.title or "details"
    return f"<details><summary>{_e(title)} ({len(t.rows)} rows)</summary><table><tr>{head}</tr>{rows}</table></details>"
