"""A follow-up note whose heading is lost (de-identification can take it with an address) still dates its scores."""

from __future__ import annotations

from indexing.extraction.rules import RulesExtractor


def _scores(text: str) -> list[tuple[float, float]]:
    return sorted((o.months, o.value) for o in RulesExtractor().extract(text).outcomes if o.measure == "VAS")


def test_a_score_compared_with_its_baseline_is_a_follow_up() -> None:
    note = ("NHC: PT-X Name: [PERSON]: 22/03/2021 Address: [ADDRESS]\n"
            "Pt with plantar fasciitis, had PRP 2020-03-24. Excellent response. VAS: 2. (VAS at baseline 5).\n")
    assert _scores(note) == [(0.0, 5.0), (12.0, 2.0)]


def test_spanish_previous_score_in_brackets() -> None:
    note = "Fecha: 10/09/2023\nPaciente con fascitis plantar, PRP el 10/03/2023. EVA 3. (EVA previa 7).\n"
    assert _scores(note) == [(0.0, 7.0), (6.0, 3.0)]


def test_a_first_visit_score_stays_the_baseline() -> None:
    note = "Fecha: 10/03/2023\nPrimera consulta. Fascitis plantar derecha. EVA basal 7. Plan: PRP.\n"
    assert _scores(note) == [(0.0, 7.0)]
