"""Charts drawn with matplotlib (Agg, no display) and embedded in the HTML as base64 PNG, so the report is one file."""

from __future__ import annotations

import base64
import io
import math
import threading
from collections.abc import Sequence

from eval.report.model import Chart, Report

PALETTE = ["#1f6f8b", "#e07a1f", "#3a9d5d", "#b8434e", "#7a5ea8", "#8c6d46", "#d45fa0", "#6b7b8c"]
WIDTH_IN, HEIGHT_IN, DPI = 5.0, 3.1, 150  # shown ~500 px wide: 8 pt text stays ~11 px on screen
_LOCK = threading.Lock()  # pyplot's state is global: one chart at a time (the server may write a report in a thread)


def render_png(chart: Chart) -> str:
    """The chart as a base64-encoded PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with _LOCK:
        height = HEIGHT_IN
        if chart.kind == "barh":
            height = max(2.0, 0.3 * len(chart.x) + 1.0)
        fig, ax = plt.subplots(figsize=(WIDTH_IN, height), dpi=DPI)
        try:
            _draw(ax, chart)
            ax.set_title(chart.title, fontsize=11, loc="left", color="#222")
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            ax.grid(True, axis="x" if chart.kind == "barh" else "y", color="#e3e3e3", linewidth=0.8)
            ax.set_axisbelow(True)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.12)
        finally:
            plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _draw(ax: object, chart: Chart) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    labels = [str(x) for x in chart.x]
    n_series = max(1, len(chart.series))
    if chart.kind == "line":
        for i, (name, ys) in enumerate(chart.series.items()):
            pts = [(j, y) for j, y in enumerate(ys) if y is not None and math.isfinite(y)]
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4, linewidth=1.8,
                    color=PALETTE[i % len(PALETTE)], label=name)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center",
                           fontsize=8)
        if len(labels) == 1:
            ax.set_xlim(-0.5, 0.5)
    elif chart.kind == "bar":
        width = 0.8 / n_series
        for i, (name, ys) in enumerate(chart.series.items()):
            xs = [j + (i - (n_series - 1) / 2) * width for j in range(len(labels))]
            vals = [y if y is not None and math.isfinite(y) else 0.0 for y in ys]
            bars = ax.bar(xs, vals, width=width * 0.92, color=PALETTE[i % len(PALETTE)], label=name)
            for b, y in zip(bars, ys, strict=True):
                if y is None or not math.isfinite(y):
                    ax.text(b.get_x() + b.get_width() / 2, 0.02, "n/a", ha="center", va="bottom", fontsize=7,
                            color="#888")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center",
                           fontsize=8)
    else:  # barh: one series, a label per bar, the value written at its end
        ys = next(iter(chart.series.values()), [])
        vals = [y if y is not None and math.isfinite(y) else 0.0 for y in ys]
        pos = list(range(len(labels)))[::-1]
        ax.barh(pos, vals, color=[_status_colour(v, chart.y_range) for v in vals], height=0.62)
        ax.set_yticks(pos)
        ax.set_yticklabels(labels, fontsize=9)
        for p, y in zip(pos, ys, strict=True):
            ax.text((y or 0.0) + 0.01, p, "n/a" if y is None else f"{y:.0%}" if chart.y_range == (0.0, 1.0)
                    else f"{y:.3g}", va="center", fontsize=8, color="#333")
        if chart.y_range:
            ax.set_xlim(chart.y_range[0], chart.y_range[1] * 1.12)
        if chart.y_label:
            ax.set_xlabel(chart.y_label, fontsize=9)
        return
    if chart.y_range:
        lo, hi = chart.y_range
        ax.set_ylim(lo, hi + (hi - lo) * 0.04)  # points at the top of the scale stay whole
    if chart.y_label:
        ax.set_ylabel(chart.y_label, fontsize=9)
    if chart.x_label:
        ax.set_xlabel(chart.x_label, fontsize=9)
    if len(chart.series) > 1:  # below the plot, where it hides no bar and no line
        ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16 if chart.x_label else -0.1),
                  ncol=min(len(chart.series), 2))


def _status_colour(v: float, y_range: tuple[float, float] | None) -> str:
    if y_range != (0.0, 1.0):
        return PALETTE[0]
    return "#3a9d5d" if v >= 0.999 else "#e0a21f" if v >= 0.9 else "#b8434e"


def trend_charts(current: Report, history: Sequence[Report]) -> list[tuple[str, Chart]]:
    """(section key, chart) per section: its 0-1 metrics across the earlier runs of the same kind and this one."""
    runs = [r for r in history if r.kind == current.kind and r.run_id != current.run_id][-29:] + [current]
    x = [_short_date(r.created_at) for r in runs]
    out = []
    for s in current.sections:
        series: dict[str, list[float | None]] = {}
        for m, v in s.metrics.items():
            if v is None or not 0.0 <= v <= 1.0 or m in s.lower_is_better:
                continue
            ys = []
            for r in runs:
                rs = r.section(s.key)
                val = rs.metrics.get(m) if rs else None
                ys.append(val if val is not None and 0.0 <= val <= 1.0 else None)
            series[s.label(m).split(" (")[0].split(": ")[0][:40]] = ys  # short names: the legend sits under the plot
        if series:
            note = "" if len(runs) > 1 else "First run: the lines grow as later runs are added."
            out.append((s.key, Chart(kind="line", title="Trend across runs", x=x, series=dict(
                list(series.items())[:8]), y_label="score / share", note=note)))
    return out


def _short_date(iso: str) -> str:
    return iso[5:16].replace("T", " ") if iso else "?"  # MM-DD HH:MM; the year is in the page header
