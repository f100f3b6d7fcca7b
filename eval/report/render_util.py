"""How numbers read in every rendering: ratios as percentages, latencies in ms or s, counts as integers."""

from __future__ import annotations

import math
from typing import Any


def format_value(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        name = metric.lower()
        if name.endswith("_ms"):
            return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"
        if name.startswith("n_") or name.endswith(("_count", "questions", "chunks", "documents", "found", "checked")):
            return f"{value:.0f}"
        if 0.0 <= value <= 1.0:
            if any(w in name for w in ("rate", "validity", "accuracy", "share")):
                return f"{value:.1%}"
            return f"{value:.3f}"
        return f"{value:.3g}"
    return str(value)
