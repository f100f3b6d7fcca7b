"""Result types of de-identification: spans refer to the original text and never hold the original value."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """One piece of PHI found in a text: its type and [start, end) offsets in the ORIGINAL text."""

    type: str
    start: int
    end: int


@dataclass(slots=True)
class DeidResult:
    """The de-identified text and where PHI was found in the original."""

    text: str
    spans: list[PhiSpan] = field(default_factory=list)
