"""A note's heading on the line after the patient's name or address ("Review", "Revisión", "Seguimiento") is
clinical structure, not part of the name or the address: extraction reads the visit as a follow-up from it."""

from __future__ import annotations

import pytest

from indexing.deid import Deidentifier


@pytest.mark.parametrize(("note", "gone"), [
    ("MRN: 0737728\nPatient: Thomas Wood\nReview\n\nAchilles tendinosis, PRP. VAS 4.5.", ["Thomas", "Wood"]),
    ("MRN: 10959891\nAddress: 2485 King's Road, Portland, OR 97205\nReview\n\nSeen 12 months s/p hyaluronic acid.",
     ["King's Road", "Portland", "97205"]),
    ("NHC: 4455\nDomicilio: Calle Toledo 45, 28801 Alcalá de Henares\nRevisión\n\nGonartrosis. EVA 6.", ["Toledo", "28801"]),
])
def test_the_heading_after_a_name_or_an_address_stays(deid: Deidentifier, note: str, gone: list[str]) -> None:
    out = deid.deidentify(note).text
    assert "\nReview\n" in out or "\nRevisión\n" in out, out
    for value in gone:
        assert value not in out, out
