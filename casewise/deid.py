"""The de-identifier's role: what every stage may ask of it (the implementation is `indexing.deid.Deidentifier`).

Identifiers are removed before anything is embedded, indexed, sent to a model, logged or used for training, so the
CLI, the API, indexing and the evaluation all hold one of these, built once by the composition root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol


class Redacted(Protocol):
    """A de-identified text (spans, where an implementation gives them, point into the original)."""

    @property
    def text(self) -> str: ...


class Deidentifier(Protocol):
    """Removes identifiers from clinical text, and maps patients to keyed pseudonyms and per-patient date shifts."""

    def deidentify(self, text: str, *, patient_key: str | None = None, language: str | None = None) -> Redacted: ...

    def deidentify_many(self, texts: Iterable[str], *, patient_keys: Sequence[str | None] | str | None = None,
                        language: str | None = None) -> Sequence[Redacted]: ...

    def pseudonym(self, patient_id: str) -> str: ...

    def shift_date(self, d: dt.date, patient_key: str) -> dt.date: ...
