"""Reports for the public benchmarks: CodiEsp retrieval (`eval retrieval --report`) and MEDDOCAN / Presidio
de-identification (`eval deid --report`). Their numbers come from the existing evaluations unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.report.model import Chart, Highlight, Report, Section, Table, new_run_id, now_iso
from eval.report.render_util import format_value
from eval.report.writer import write_report

RETRIEVAL_METRICS = ("ndcg@10", "recall@10", "mrr", "graded_ndcg@10")
RETRIEVAL_LABELS = {"ndcg@10": "nDCG@10", "recall@10": "Recall@10", "mrr": "MRR", "graded_ndcg@10": "graded nDCG@10"}


def retrieval_report(payload: Mapping[str, Any]) -> Report:
    """From retrieval_eval's JSON payload: {"lang", "model", "cases", "chunks", "results": {method: scores}}."""
    lang = str(payload.get("lang", "?"))
    results: Mapping[str, Mapping[str, Any]] = payload.get("results") or {}
    kind = f"codiesp-{lang}"
    report = Report(run_id=new_run_id(kind), kind=kind, title=f"Retrieval on CodiEsp ({lang})", created_at=now_iso(),
                    context={"dense model": str(payload.get("model", "-")), "cases": str(payload.get("cases", "?")),
                             "chunks": str(payload.get("chunks", "?")), "methods": ", ".join(results)})
    main = "casewise" if "casewise" in results else next(iter(results), None)
    for method, r in sorted(results.items(), key=lambda kv: kv[0] != main):  # Casewise's own retriever first
        s = Section(key=method, title=f"{method}" + (" (Casewise's retriever)" if method == "casewise" else ""),
                    metrics={m: r.get(m) for m in RETRIEVAL_METRICS},
                    labels=dict(RETRIEVAL_LABELS),
                    note=f"{r.get('n_queries', 0)} queries with a relevant case; ± is one standard error: "
                         + ", ".join(f"{RETRIEVAL_LABELS[m]} ±{r.get(m + '_se', 0) or 0:.3f}" for m in RETRIEVAL_METRICS))
        report.add(s)
    if results:
        compare = Section(key="comparison", title="All methods side by side", note=(
            "A case is relevant to a query case when their ICD-10 categories overlap (Jaccard >= 0.3); "
            "graded nDCG weighs each case by that overlap."))
        compare.charts.append(Chart(kind="bar", title="Methods compared", x=list(results), series={
            RETRIEVAL_LABELS[m]: [results[meth].get(m) for meth in results] for m in RETRIEVAL_METRICS[:3]}))
        compare.tables.append(Table(title="Scores with standard errors", columns=["method", *[
            f"{RETRIEVAL_LABELS[m]}" for m in RETRIEVAL_METRICS], *[f"{RETRIEVAL_LABELS[m]} SE" for m in
                                                                    RETRIEVAL_METRICS]],
            rows=[[meth, *[r.get(m) for m in RETRIEVAL_METRICS], *[r.get(m + "_se") for m in RETRIEVAL_METRICS]]
                  for meth, r in results.items()]))
        report.sections.insert(0, compare)
    if main:
        r = results[main]
        report.highlights = [Highlight(f"{RETRIEVAL_LABELS[m]} ({main})", format_value(m, r.get(m)),
                                       f"± {r.get(m + '_se') or 0:.3f}") for m in RETRIEVAL_METRICS[:3]]
    return report


def deid_report(datasets: Sequence[Mapping[str, Any]]) -> Report:
    """From deid_eval's DeidReport.to_dict() of each dataset evaluated."""
    report = Report(run_id=new_run_id("deid"), kind="deid", title="De-identification on public sets",
                    created_at=now_iso())
    for d in datasets:
        name = str(d.get("dataset", "dataset"))
        key = name.split(":", 1)[0]
        token, overlap, exact = d.get("token") or {}, d.get("span_overlap") or {}, d.get("span_exact") or {}
        leak = d.get("leak_rate")
        s = Section(key=key, title=f"{key} ({d.get('documents', 0)} documents)", metrics={
            "token_recall": token.get("recall"), "token_precision": token.get("precision"), "token_f1": token.get("f1"),
            "span_overlap_recall": overlap.get("recall"), "span_exact_recall": exact.get("recall"), "leak_rate": leak,
            "notes_per_s": d.get("notes_per_s")},
            labels={"token_recall": "Token recall (in scope)", "token_precision": "Token precision (in scope)",
                    "token_f1": "Token F1 (in scope)", "span_overlap_recall": "Span recall, any overlap",
                    "span_exact_recall": "Span recall, exact offsets",
                    "leak_rate": "Leak rate (identifier characters left in the text)",
                    "notes_per_s": "Notes per second"},
            lower_is_better=["leak_rate"],
            status="info" if leak is None else "ok" if leak <= 0.01 else "warn" if leak <= 0.05 else "fail",
            note="In scope: the identifier types Casewise's policy removes; types it keeps on purpose (sex, country, "
                 "profession, ages under 90) are out of scope: " + ", ".join(d.get("out_of_scope_types") or []) + ".")
        per_type = {t: row for t, row in (d.get("per_type") or {}).items() if row.get("in_scope")}
        if per_type:
            order = sorted(per_type, key=lambda t: -(per_type[t].get("spans") or 0))
            s.charts.append(Chart(kind="barh", title="Recall per identifier type (tokens removed)", x=order,
                                  series={"recall": [per_type[t].get("token_recall") for t in order]},
                                  y_label="share of the type's tokens removed"))
        s.tables.append(Table(title="Per identifier type", columns=["type", "in scope", "spans", "token recall",
                                                                    "exact recall", "overlap recall"],
                              rows=[[t, "yes" if row.get("in_scope") else "no", row.get("spans"),
                                     row.get("token_recall"), row.get("exact_recall"), row.get("overlap_recall")]
                                    for t, row in sorted((d.get("per_type") or {}).items(),
                                                         key=lambda kv: -(kv[1].get("spans") or 0))]))
        report.add(s)
        report.highlights.append(Highlight(f"{key}: token recall", format_value("recall", token.get("recall")),
                                           "identifier tokens removed (in scope)"))
        report.highlights.append(Highlight(f"{key}: leak rate", format_value("leak_rate", leak),
                                           "identifier characters left in the text", s.status))
    return report


def write_retrieval_report(payload: Mapping[str, Any], root: Path) -> Path:
    return write_report(retrieval_report(payload), root)


def write_deid_report(datasets: Sequence[Mapping[str, Any]], root: Path) -> Path:
    return write_report(deid_report(datasets), root)
