"""What notes, letters and reports say about each treatment, as the merge of a case needs it: the date of each
treatment of a one-line list, a side never read from a cut word, no treatment read from a record number, and the
number of sessions when the word is mistyped. Notes are invented for these tests."""

from __future__ import annotations

from indexing.extraction.normalize import sessions_of
from indexing.extraction.rules import RulesExtractor


def test_each_treatment_of_a_one_line_list_gets_its_own_date() -> None:
    report = "Tratamiento\n14 de marzo de 2022: corticoide - betametasona 6 mg. 2 de octubre de 2022: PRP - 3 ml.\n"
    dates = {t.name: t.date for t in RulesExtractor().extract(report).treatments}
    assert str(dates["corticosteroid"]) == "2022-03-14"
    assert str(dates["prp"]) == "2022-10-02"


def test_a_side_is_never_read_from_a_cut_word() -> None:
    # 'a los 6 meses' cut at 20 characters is 'a l': not the left side.
    letter = "Evolución\nTras corticoides: EVA 7,5 -> 6,5 a los 6 meses. No mejoría.\n"
    assert all(t.side is None for t in RulesExtractor().extract(letter).treatments)


def test_hyaluronic_acid_is_not_read_from_a_record_number() -> None:
    note = "NHC: PT-QWERTY12HA\nPrimera visita. Epicondilitis lateral derecha. EVA 7. Tto: corticoide (1 infiltración)."
    assert [t.name for t in RulesExtractor().extract(note).treatments] == ["corticosteroid"]
    assert "hyaluronic_acid" in {t.name for t in RulesExtractor().extract("Plan: HA injection, 3 shots.").treatments}


def test_sessions_with_two_letters_swapped_in_the_word() -> None:
    assert sessions_of("CSI (1 inejction, betamethasone 6 mg)") == 1
    assert sessions_of("fisioterapia, 10 sesoines") == 10
    assert sessions_of("3 infiltraciones") == 3
    assert sessions_of("1 infection") is None  # another word, not a slip
