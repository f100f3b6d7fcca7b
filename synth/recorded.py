"""Where each outcome value is written: a document path or a table row, so evaluation can count what records state."""

from __future__ import annotations

from dataclasses import dataclass, field

from synth.cohort import TreatmentPlan
from synth.model import Measure


def outcome_value(t: TreatmentPlan, measure: Measure, months: int) -> float | None:
    """The drawn score of ``measure`` at ``months`` (None where the patient was not measured)."""
    series = {"vas": t.vas, "womac": t.womac, "koos_pain": t.koos}[measure]
    return series.get(months)


def table_place(path: str, row: int) -> str:
    """The name of one table row in ``recorded_in``: ``path#row``, row 0-based with the header excluded."""
    return f"{path}#{row}"


@dataclass
class OutcomeRecorder:
    """Collects, per outcome of one patient, every place its value is written; renderers call ``use`` as they write."""

    document: str = ""  # path of the document being written now
    _places: dict[tuple[int, Measure, int], set[str]] = field(default_factory=dict)

    def begin(self, path: str) -> None:
        """Record the values written from now on as written in ``path``."""
        self.document = path

    def mark(self, treatment_index: int, measure: Measure, months: int, where: str | None = None) -> None:
        """Record that the outcome is written in ``where`` (a table row), or else in the current document."""
        place = where or self.document
        if not place:
            raise ValueError("no document begun: call begin(path) before writing outcome values")
        self._places.setdefault((treatment_index, measure, months), set()).add(place)

    def use(self, treatment_index: int, measure: Measure, months: int, text: str) -> str:
        """Record that ``text`` states the outcome in the current document; return it unchanged, for templates."""
        self.mark(treatment_index, measure, months)
        return text

    def places(self, treatment_index: int, measure: Measure, months: int) -> list[str]:
        """Every place the outcome is written, sorted; empty when no document or row states it."""
        return sorted(self._places.get((treatment_index, measure, months), ()))
