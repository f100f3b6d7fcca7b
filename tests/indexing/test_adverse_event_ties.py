"""Case assembly ties each adverse event to the treatment it followed, and the tie survives the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from casewise.store import Store
from casewise.types import AdverseEventLink, CaseFacts, Treatment
from indexing.assemble import merge
from indexing.extraction.interface import facts_from
from indexing.extraction.rules import RulesExtractor


def _facts(treatments: list[tuple[str, dt.date]], events: list[AdverseEventLink]) -> CaseFacts:
    return CaseFacts(treatments=[Treatment(name=n, date=d) for n, d in treatments],
                     adverse_events=[e.name for e in events], adverse_event_links=events)


def test_an_untied_event_goes_to_the_treatment_given_before_its_note() -> None:
    tx = _facts([("hyaluronic_acid", dt.date(2022, 1, 10)), ("prp", dt.date(2022, 9, 1))], [])
    note = _facts([], [AdverseEventLink(name="effusion", date=dt.date(2022, 2, 1)),
                       AdverseEventLink(name="post_injection_flare", date=dt.date(2022, 9, 20))])
    case = merge("PT-1", [("d1", tx), ("d2", note)])
    assert {(e.name, e.treatment) for e in case.adverse_event_links} == {
        ("effusion", "hyaluronic_acid"), ("post_injection_flare", "prp")}
    assert case.adverse_events == ["effusion", "post_injection_flare"]


def test_the_record_own_tie_wins_and_duplicates_collapse() -> None:
    tx = _facts([("hyaluronic_acid", dt.date(2022, 1, 10)), ("prp", dt.date(2022, 9, 1))], [])
    a = _facts([], [AdverseEventLink(name="effusion", treatment="hyaluronic_acid", date=dt.date(2022, 12, 1))])
    b = _facts([], [AdverseEventLink(name="effusion", date=dt.date(2022, 2, 1))])  # the same event, untied
    case = merge("PT-1", [("d1", tx), ("d2", a), ("d3", b)])
    assert [(e.name, e.treatment) for e in case.adverse_event_links] == [("effusion", "hyaluronic_acid")]


def test_an_event_no_record_dates_stays_untied_in_a_case_of_two_treatments() -> None:
    tx = _facts([("hyaluronic_acid", dt.date(2022, 1, 10)), ("prp", dt.date(2022, 9, 1))], [])
    case = merge("PT-1", [("d1", tx), ("d2", _facts([], [AdverseEventLink(name="hematoma")]))])
    assert [(e.name, e.treatment) for e in case.adverse_event_links] == [("hematoma", None)]


def test_a_follow_up_note_ties_its_event_to_the_treatment_it_follows(tmp_path: Path) -> None:
    note = ("Consulta sucesiva. F.: 17 de agosto de 2024\ns/p PRP 10/08/2023.\nEVA 4 (EVA previa 6).\n"
            "Refiere dolor post-infiltración las primeras 48 h. Valorar ácido hialurónico si recae.")
    facts = facts_from(RulesExtractor().extract(note))
    earlier = _facts([("hyaluronic_acid", dt.date(2021, 3, 1))], [])
    case = merge("PT-1", [("d0", earlier), ("d1", facts)])
    assert [(e.name, e.treatment) for e in case.adverse_event_links] == [("post_injection_flare", "prp")]
    store = Store(f"sqlite:///{tmp_path / 'casewise.db'}")
    store.save_case(case, fingerprint="f")
    stored = store.get_case("PT-1")
    assert stored is not None and stored.adverse_event_links == case.adverse_event_links


def test_a_case_stored_before_links_reads_with_none(tmp_path: Path) -> None:
    # the case is stored as JSON: a case written before the field existed reads back with no links
    from casewise.types import Case

    old = Case.model_validate({"case_id": "PT-9", "adverse_events": ["effusion"]})
    assert old.adverse_event_links == [] and old.adverse_events == ["effusion"]


def test_a_letter_ties_an_event_to_the_treatment_its_line_names() -> None:
    # the letter opens with the first treatment ('Tras RHB'); the event is on the second treatment's line
    letter = ("Informe de alta\nFecha: 11/09/2023\nTratamiento realizado\n28/08/2022: fisioterapia (15 ses.)\n"
              "07/03/2023: PRP (3 inf., 3ml)\nEvolución\nTras RHB: EVA 7,5 -> 6 a los 6 meses. Algo mejor. Sin "
              "incidencias tras el procedimiento.\nTras PRP: EVA 6 -> 5,5 a los 6 meses. Evolución tórpida. "
              "Presentó reacción dolorosa tras la infiltración.\n")
    events = RulesExtractor().extract(letter).adverse_events
    assert [(e.name, e.treatment) for e in events] == [("post_injection_flare", "prp")]
