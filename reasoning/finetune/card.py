"""The data card of an SFT data set: what went in, what was left out and why, so a reviewer can judge it at a glance.

Counts only: no row text and no case ids (a card is meant to be shared).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning.finetune.data import BuildResult, SFTRow

CARD_JSON = "data_card.json"
CARD_MD = "data_card.md"


def _lengths(rows: Sequence[SFTRow]) -> dict[str, float | int | None]:
    sizes = [len(r.Question) + len(r.Complex_CoT) + len(r.Response) for r in rows]
    if not sizes:
        return {"min": None, "median": None, "max": None}
    return {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes)}


def _side(rows: Sequence[SFTRow]) -> dict[str, Any]:
    return {
        "rows": len(rows),
        "languages": dict(sorted(Counter(r.meta.language for r in rows).items())),
        "diagnoses": dict(Counter(d for r in rows for d in r.meta.diagnoses).most_common()),
        "treatments": dict(Counter(t for r in rows for t in r.meta.treatments).most_common()),
        "outcomes": dict(Counter(r.meta.outcome or "no_follow_up" for r in rows).most_common()),
        "reasoning_source": dict(sorted(Counter(r.meta.cot_source for r in rows).items())),
        "chars": _lengths(rows),
    }


def data_card(result: BuildResult) -> dict[str, Any]:
    """Counts per split, languages, diagnoses, treatments, outcomes, reasoning source, lengths and drop reasons."""
    train_ids = {r.meta.case_id for r in result.train}
    overlap = sum(1 for r in result.test if r.meta.case_id in train_ids)
    return {
        "format": "HuatuoGPT-o1 SFT (Question, Complex_CoT, Response)",
        "source": "de-identified cases of the Casewise store (never raw files)",
        "cases_seen": result.cases_seen,
        "train": _side(result.train),
        "test": _side(result.test),
        "dropped": dict(sorted(result.dropped.items())),
        "patients_on_both_sides": overlap,
        "settings": result.settings,
    }


def _md_counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def card_markdown(card: dict[str, Any]) -> str:
    lines = [
        "# SFT data card",
        "",
        f"Format: {card['format']}. Source: {card['source']}.",
        f"Cases seen: {card['cases_seen']}. Patients on both sides of the split: {card['patients_on_both_sides']}.",
        f"Dropped: {_md_counts(card['dropped'])}.",
        "",
        "| | train | test |",
        "|---|---|---|",
    ]
    for key in ("rows", "languages", "diagnoses", "treatments", "outcomes", "reasoning_source", "chars"):
        tr, te = card["train"][key], card["test"][key]
        cell = (lambda v: _md_counts(v) if isinstance(v, dict) else str(v))
        lines.append(f"| {key} | {cell(tr)} | {cell(te)} |")
    lines += ["", f"Settings: {json.dumps(card['settings'], sort_keys=True)}", ""]
    return "\n".join(lines)


def write_card(card: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / CARD_JSON, out_dir / CARD_MD
    js.write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
    md.write_text(card_markdown(card), encoding="utf-8")
    return js, md
