"""Case assembly: a table row and a note that describe one treatment course are one treatment, with the union of
their details; two genuinely separate courses (years apart, or on the two sides) stay two. Facts are invented."""

from __future__ import annotations

import datetime as dt

from casewise.types import CaseFacts, Outcome, Treatment
from indexing.assemble import merge


def _course(**kw: object) -> CaseFacts:
    return CaseFacts(treatments=[Treatment(**kw)])  # type: ignore[arg-type]


def _prp(case: object) -> list[Treatment]:
    return [t for t in case.treatments if t.name == "prp"]  # type: ignore[attr-defined]


def test_table_row_and_note_weeks_apart_are_one_course_with_every_detail() -> None:
    row = CaseFacts(treatments=[Treatment(name="prp", date=dt.date(2023, 3, 6), sessions=3, side="right")],
                    outcomes=[Outcome(measure="VAS", value=7.0, months=0.0, treatment="prp")])
    note = CaseFacts(treatments=[Treatment(name="prp", date=dt.date(2023, 4, 2), dose="4 ml")],
                     outcomes=[Outcome(measure="VAS", value=4.0, months=6.0, treatment="prp")])
    case = merge("PT-X", [("tables/t.csv", row), ("notes/n1.txt", note)])
    [prp] = _prp(case)
    assert (prp.sessions, prp.dose, prp.side) == (3, "4 ml", "right")
    assert {(o.months, o.value) for o in case.outcomes} == {(0.0, 7.0), (6.0, 4.0)}


def test_the_date_most_records_give_wins() -> None:
    records = [("tables/t.csv", _course(name="eswt", date=dt.date(2022, 5, 10), sessions=4)),
               ("notes/n.txt", _course(name="eswt", date=dt.date(2022, 4, 11))),
               ("letters/l.docx", _course(name="eswt", date=dt.date(2022, 5, 10)))]
    [eswt] = merge("PT-X", records).treatments
    assert eswt.date == dt.date(2022, 5, 10) and eswt.sessions == 4


def test_undated_mention_joins_the_dated_course() -> None:
    records = [("notes/first.txt", _course(name="prp", sessions=2)),
               ("tables/t.csv", _course(name="prp", date=dt.date(2021, 1, 15), side="left"))]
    [prp] = _prp(merge("PT-X", records))
    assert (prp.date, prp.sessions, prp.side) == (dt.date(2021, 1, 15), 2, "left")


def test_the_same_treatment_years_apart_is_two_courses() -> None:
    records = [("tables/t.csv", _course(name="prp", date=dt.date(2023, 2, 1), sessions=3)),
               ("tables/t.csv", _course(name="prp", date=dt.date(2025, 3, 1), sessions=1)),
               ("notes/n.txt", _course(name="prp", date=dt.date(2025, 3, 20), dose="5 ml"))]
    prp = _prp(merge("PT-X", records))
    assert [(t.date.year, t.sessions) for t in prp if t.date] == [(2023, 3), (2025, 1)]
    assert prp[1].dose == "5 ml", "the 2025 note describes the 2025 course, not the first one"


def test_left_and_right_are_two_courses_even_on_the_same_day() -> None:
    records = [("tables/t.csv", _course(name="hyaluronic_acid", date=dt.date(2022, 9, 1), side="left")),
               ("tables/t.csv", _course(name="hyaluronic_acid", date=dt.date(2022, 9, 1), side="right")),
               ("notes/n.txt", _course(name="hyaluronic_acid", date=dt.date(2022, 9, 1), side="right", sessions=3))]
    sides = sorted((t.side, t.sessions) for t in merge("PT-X", records).treatments)
    assert sides == [("left", None), ("right", 3)]


def test_different_treatments_on_one_day_stay_apart() -> None:
    records = [("notes/n.txt", CaseFacts(treatments=[Treatment(name="prp", date=dt.date(2024, 1, 3)),
                                                     Treatment(name="physiotherapy", date=dt.date(2024, 1, 3),
                                                               sessions=10)]))]
    assert sorted(t.name for t in merge("PT-X", records).treatments) == ["physiotherapy", "prp"]
