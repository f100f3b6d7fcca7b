"""The rest of a postal address around the street: the town after a unit on the same line, the region code before
a ZIP code or on its own line above the postal code, street types written after the name (Scandinavian, Hungarian,
German, "Str."). The country is kept, and so is the clinical text around the address."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier
from tests.indexing.deid.conftest import assert_removed

# (note, words that must not survive, text that must survive); every address is invented
REMOVED = [
    ("Discharge letter sent to 4417 Quarrow Drive Suite 210 Bellmoor Falls. Follow-up for Baker's cyst.",
     ["Quarrow", "210", "Bellmoor", "Falls"], ["Baker's cyst"]),
    ("Letters go to 88 Ostler Lane Apt. 12, Tinsdale, Norway. Osgood-Schlatter disease, VAS 4/10.",
     ["Ostler", "Tinsdale"], ["Norway", "Osgood-Schlatter disease", "VAS 4/10"]),
    ("Forward records to 19 Kettering Road, Harlow Bay, NJ 07741. Hoffa fat pad impingement.",
     ["Kettering", "Harlow", "NJ", "07741"], ["Hoffa fat pad impingement"]),
    ("Address on file:\n731 Brindle Avenue\nMarrowfield\n, OK\n 73301\nParkinson disease, on levodopa.",
     ["Brindle", "Marrowfield", "OK", "73301"], ["Parkinson disease, on levodopa"]),
    ("Patient moved to Fjellsen gate 17, second floor. Knee osteoarthritis, Kellgren-Lawrence 3.",
     ["Fjellsen", "17"], ["Knee osteoarthritis, Kellgren-Lawrence 3"]),
    ("Letter returned from 52 Ambroser Str., closed practice. Lateral epicondylitis.",
     ["Ambroser", "52"], ["Lateral epicondylitis"]),
    ("Lives at 240 Lindauer Strasse 9 with her husband. Patellar tendinopathy.",
     ["Lindauer", "240"], ["Patellar tendinopathy"]),
]


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


@pytest.mark.parametrize(("note", "phi", "kept"), REMOVED, ids=[f"case{i}" for i in range(len(REMOVED))])
def test_the_lines_of_an_address_are_removed(deid: Deidentifier, note: str, phi: list[str], kept: list[str]) -> None:
    assert_removed(deid, note, phi, kept)


def test_a_suite_number_in_clinical_text_takes_no_clinical_word(deid: Deidentifier) -> None:
    out = deid.deidentify("Seen in Suite 4. Plan: physiotherapy, review in 6 weeks.", language="en").text
    assert "Plan: physiotherapy, review in 6 weeks." in out
