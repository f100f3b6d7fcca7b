"""Earlier follow-up scores a note or a report holds besides its own: written inline ('3 meses: 6,5'), in an outcome
table (one cell per line, one row per line, a column text extraction moved below the signature), and summary lines
of a letter whose treatment the vocabulary does not know. Notes and rows are invented for these tests."""

from __future__ import annotations

import pytest

from casewise.extract import note_time_point
from indexing.extraction.rules import RulesExtractor


def _vas(text: str) -> set[tuple[str | None, float, float]]:
    note = RulesExtractor().extract(text)
    return {(o.treatment, o.months, o.value) for o in note.outcomes if o.measure == "VAS"}


@pytest.mark.parametrize(("written", "expected"), [
    ("3 meses: 6,5; 6 meses: 5", [(3.0, 6.5), (6.0, 5.0)]),
    ("3 mo: 5/10, 6 mo: 4/10", [(3.0, 5.0), (6.0, 4.0)]),
    ("3/12: 6, 6/12: 4", [(3.0, 6.0), (6.0, 4.0)]),
    ("mes 3: 6, mes 6: 3,5", [(3.0, 6.0), (6.0, 3.5)]),
    ("month 3 = 7, month 6 = 5", [(3.0, 7.0), (6.0, 5.0)]),
    ("3m: 4, 6m: 2.5", [(3.0, 4.0), (6.0, 2.5)]),
])
def test_inline_earlier_scores_in_the_ways_clinicians_write_them(written: str, expected: list[tuple[float, float]]) -> None:
    note = f"Revisión 12 meses\nTras infiltración de PRP (02/02/2023). EVA 2/10 (EVA basal 7). {written}. Alta."
    earlier = {(m, v) for t, m, v in _vas(note) if 0 < m < 12}
    assert earlier == set(expected)


@pytest.mark.parametrize("written", [
    "6 meses: EVA 7",  # a history of pain, then a score of today
    "12 meses: 3 sesiones",  # a number of sessions
    "6 m: 2 ml",  # a volume
    "3m: 5/12",  # not a score out of 10
])
def test_a_time_point_followed_by_something_else_is_not_a_score(written: str) -> None:
    note = f"Revisión 12 meses\nTras infiltración de PRP (02/02/2023). EVA 2/10 (EVA basal 7). {written}. Alta."
    assert _vas(note) == {("prp", 0.0, 7.0), ("prp", 12.0, 2.0)}


def test_follow_up_note_keeps_every_earlier_score_it_lists() -> None:
    note = ("Revisión 12 meses\nTras infiltración de PRP (02/02/2023). Buena evolución. EVA 2/10 (EVA basal 7). "
            "3 meses: 5; 6 meses: 3,5. Alta.")
    assert _vas(note) == {("prp", 0.0, 7.0), ("prp", 3.0, 5.0), ("prp", 6.0, 3.5), ("prp", 12.0, 2.0)}


def test_months_after_a_treatment_give_the_visit_its_time_point() -> None:
    assert note_time_point("Review\nSeen 6 months s/p shockwave therapy. VAS 3/10.") == 6.0
    assert note_time_point("New patient. Knee pain for 8 months after a fall. VAS 7/10. Plan: PRP.") == 0.0


def test_report_table_written_one_row_per_line() -> None:
    report = ("Informe de evolución\nTratamiento\n10/01/2022: ácido hialurónico - 3 infiltraciones, 2 ml.\n"
              "Evolución\nácido hialurónico: mejoría parcial.\n"
              "Escala | Basal | 3 m | 6 m | 12 m\n"
              "EVA | 8 | 6,5 | | 4\n"
              "WOMAC | 60 | | | 41\n")
    note = RulesExtractor().extract(report)
    got = {(o.measure, o.months, o.value) for o in note.outcomes if o.treatment == "hyaluronic_acid"}
    assert {("VAS", 0.0, 8.0), ("VAS", 3.0, 6.5), ("VAS", 12.0, 4.0), ("WOMAC", 0.0, 60.0),
            ("WOMAC", 12.0, 41.0)} <= got
    assert not any(m == "VAS" and months == 6.0 for m, months, _v in got), "an empty cell is no score"


def test_report_column_moved_below_the_signature_is_read_as_its_time_point() -> None:
    # Text extraction of a PDF whose last column was cut by the signature block: '12 m' and its cells come last.
    report = ("Follow-up report\nTreatment\nMarch 3, 2021: shockwave therapy - 3 sessions.\nOutcome\n"
              "shockwave therapy: better.\nBaseline\n3 m\n6 m\nVAS\n7\n5\n4\nWOMAC\n52\n"
              "Signed: Dr. [PERSON_0001]\n12 m\n3\n30\n")
    assert _vas(report) >= {("eswt", 0.0, 7.0), ("eswt", 3.0, 5.0), ("eswt", 6.0, 4.0), ("eswt", 12.0, 3.0)}
    note = RulesExtractor().extract(report)
    assert ("WOMAC", 12.0, 30.0) in {(o.measure, o.months, o.value) for o in note.outcomes}


def test_second_table_of_a_report_whose_title_the_vocabulary_does_not_know() -> None:
    # 'remisión a unidad de columna' is not a vocabulary term: its table is the second treatment's, not the first's.
    report = ("Tratamiento\n05/02/2021: PRP - 2 infiltraciones, 4 ml. 20/09/2021: derivación a cirugía.\n"
              "Evolución\nPRP: sin mejoría.\nBasal\n3 m\n6 m\nEVA\n7\n6,5\n6\n"
              "remisión a unidad de columna: mejoría clara.\nBasal\n3 m\n6 m\n12 m\nEVA\n6\n4\n2\n1\n")
    got = _vas(report)
    assert {("surgery_referral", 0.0, 6.0), ("surgery_referral", 12.0, 1.0)} <= got
    assert ("prp", 12.0, 1.0) not in got


def test_letter_summary_line_of_an_unknown_treatment_name_is_not_the_first_treatment() -> None:
    letter = ("Tratamiento realizado\n12/04/2022: fisioterapia (12 sesiones)\n"
              "03/11/2022: valoración quirúrgica\nEvolución\n"
              "Tras fisioterapia: EVA 7 -> 6 a los 6 meses.\n"
              "Tras remisión a unidad de columna: EVA 6 -> 1 a los 12 meses.\n")
    got = _vas(letter)
    assert {("physiotherapy", 0.0, 7.0), ("physiotherapy", 6.0, 6.0), ("surgery_referral", 0.0, 6.0),
            ("surgery_referral", 12.0, 1.0)} <= got
    assert ("physiotherapy", 12.0, 1.0) not in got
