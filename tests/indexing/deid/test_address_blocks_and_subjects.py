"""Address blocks laid out line by line go on after a line of address parts with no street type, and after a
postal code that a sentence goes on from; the subject of "lives at" is a person. Clinical lines after an address
(a scale and its value, a heading, a new sentence) stay. Every name and address here is invented."""

from __future__ import annotations

import pytest

from indexing.deid import Deidentifier
from tests.indexing.deid.conftest import assert_removed

REMOVED = [
    # a postal code, a place and a house number: the lines below it are the rest of the address
    ("Addresses: 03751 Gerrit Achterberghove 137\nColorado Springs\n, CO\n 70079, and no other.",
     ["03751", "Achterberghove", "137", "Colorado", "CO", "70079"], ["and no other"]),
    # the town and postal code line, and the sentence going on after it
    ("I'll meet you at 25615 Tawastintie 72 Apt. 004\nKNIVSTA, nan 18237 after the concert.",
     ["KNIVSTA", "18237"], ["after the concert"]),
    # the subject of "lives at", capitalised (with an initial) or in lower case at a line's start
    ("Juliusz A Kwiatkowski lives at 28919 Filadelfeo 13. Knee pain.", ["Juliusz", "Kwiatkowski"], ["Knee pain"]),
    ("juliusz kwiatkowski lives at 28919 filadelfeo 13\nknee pain.", ["juliusz", "kwiatkowski"], ["knee pain"]),
]

KEPT_AFTER_ADDRESS = [
    ("Natural de Madrid, 28001\nEVA 7\nPlan: infiltración.", ["EVA 7", "Plan: infiltración."]),
    ("Domicilio: Calle Mayor 3, 28001 Madrid\nSe explora la rodilla derecha.", ["Se explora la rodilla derecha."]),
    ("Seen at 12 Timms Drive\nVAS 6 at baseline, 2 at 6 months.", ["VAS 6 at baseline, 2 at 6 months."]),
    ("she lives at home with her daughter.\npatient lives in a care home.", ["she lives at home", "patient lives in"]),
]


@pytest.mark.parametrize(("note", "phi", "clinical"), REMOVED, ids=[f"case{i}" for i in range(len(REMOVED))])
def test_the_rest_of_the_address_and_the_resident_are_removed(deid: Deidentifier, note: str, phi: list[str],
                                                              clinical: list[str]) -> None:
    assert_removed(deid, note, phi, clinical)


@pytest.mark.parametrize(("note", "clinical"), KEPT_AFTER_ADDRESS, ids=[f"kept{i}" for i in range(len(KEPT_AFTER_ADDRESS))])
def test_clinical_lines_after_an_address_stay(deid: Deidentifier, note: str, clinical: list[str]) -> None:
    out = deid.deidentify(note).text
    for text in clinical:
        assert text in out, f"{text!r} was lost: {out!r}"
