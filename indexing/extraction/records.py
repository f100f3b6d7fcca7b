"""What batch extraction returns: per note, per table and case, and the files it could not read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from casewise.types import CaseFacts
from indexing.extraction.schema import NoteExtraction


@dataclass
class NoteRecord:
    """One free-text document, de-identified and extracted."""

    doc_id: str
    case_id: str | None
    extraction: NoteExtraction
    today: dt.date  # today, shifted like this patient's dates (to tell a future date from a shifted one)


@dataclass
class TableRecord:
    """What one table says about one case (the indexer's reading of its rows)."""

    doc_id: str
    case_id: str
    facts: CaseFacts
    today: dt.date


@dataclass
class BatchResult:
    notes: list[NoteRecord] = field(default_factory=list)
    tables: list[TableRecord] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): shown to the operator only

    @property
    def documents(self) -> int:
        return len(self.notes) + len({t.doc_id for t in self.tables})
