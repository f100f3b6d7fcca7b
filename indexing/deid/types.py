"""Result types of de-identification: spans refer to the original text and never hold the original value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """One piece of PHI found in a text: its type and [start, end) offsets in the ORIGINAL text."""

    type: str
    start: int
    end: int


@dataclass(slots=True)
class DeidResult:
    """The de-identified text, where PHI was found in the original, and the sex the patient line's given name implies
    ('F'/'M', read before the name was removed; None when no patient line gives one: `deid.name_sex`)."""

    text: str
    spans: list[PhiSpan] = field(default_factory=list)
    name_sex: Literal["F", "M"] | None = None
