"""A follow-up note's time point is not the patient's sex: 'Control 12m', 'FU 12m', 'revisión 12m tras',
'de 18 m de evolución' and '3m: 3, 6m: 5' once made women male in cohort counts. The age written with its letter
('62m.', '37f. c/o', '76 y/o M') still gives the sex. Invented notes."""

from __future__ import annotations

import pytest

from indexing.extraction.rules import RulesExtractor

EX = RulesExtractor()


@pytest.mark.parametrize("note", [
    "Control 12m\nFecha: 02/03/2024\nAcude a revisión 12m tras tto con PRP. EVA 3.",
    "FU 12m\nPt with rotator cuff tendinopathy. VAS 2/10 after PRP.",
    "Acude por dolor en rodilla derecha de 18 m de evolución. EVA 7/10.",
    "Revisión tras infiltración.\nEVA: 4. (EVA basal 7). 3m: 3, 6m: 5.\nSin efectos adversos.",
    "F.: 2023-01-08\nF. nac.: 01/03/1963\nControl 6m\nMejoría parcial.",
])
def test_a_time_point_gives_no_sex(note: str) -> None:
    assert EX.extract(note).sex is None


@pytest.mark.parametrize(("note", "sex"), [
    ("Control 12m\nPaciente mujer de 61 años, revisión 12m tras PRP.", "F"),
    ("FU 12m\n62m. Presents with 8-month knee pain. VAS 6/10.", "M"),
    ("37f. c/o R elbow pain x 6 months.", "F"),
    ("- 86M. Referred by GP for hip pain.", "M"),
    ("Pt is a 54yo M. Left foot pain for 3 months.", "M"),
    ("Revisión 6m. 76 y/o F. c/o right hip pain.", "F"),
])
def test_an_age_with_its_letter_gives_the_sex(note: str, sex: str) -> None:
    assert EX.extract(note).sex == sex


def test_a_table_time_point_column_gives_no_sex() -> None:
    """A PDF report's outcome table comes out as one cell per line: 'basal', '3 m', '12 m', then the scores."""
    note = "Paciente de 70a. Dolor en cadera de 6 m de evolución.\nEVA\nbasal\n3 m\n12 m\n7,5\n6,5\n6"
    assert EX.extract(note).sex is None
