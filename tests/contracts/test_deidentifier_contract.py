"""The De-identifier contract, run against its one implementation, `indexing.deid.Deidentifier` (Presidio + spaCy,
Spanish and English). Role-level only: the identifiers of two small invented notes are gone and their clinical
words stay, pseudonyms are stable and keyed by the clinic's secret, date shifts are per patient and keep
intervals, a batch equals one call per text, and empty text is fine. Recall on every identifier type, placeholders
and policies are the implementation's own tests (tests/indexing/test_deid.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from casewise.deid import Deidentifier
from casewise.settings import DeidSettings
from indexing.deid import Deidentifier as PresidioDeidentifier
from tests.contracts.base import Contract

# Invented people and numbers (the DNI's check letter is valid, so it is unmistakably an identifier).
NOTES = {
    "es": (("Paciente: Ana Martín Gil, DNI 12345678Z, NHC 556677. Tel. 612 345 678, ana.martin@correo.es.\n"
            "Gonartrosis derecha con EVA 7/10; se infiltra PRP 4 ml."),
           ["Ana", "Martín", "12345678Z", "556677", "612 345 678", "ana.martin@correo.es"],
           ["Gonartrosis derecha", "EVA 7/10", "PRP 4 ml"]),
    "en": (("Patient Robert Hayes, MRN 4456789, SSN 123-45-6789, phone (617) 555-0134, robert.hayes@example.com.\n"
            "Knee osteoarthritis with VAS 7/10; PRP injection 4 ml."),
           ["Robert", "Hayes", "4456789", "123-45-6789", "555-0134", "robert.hayes@example.com"],
           ["Knee osteoarthritis", "VAS 7/10", "PRP injection 4 ml"]),
}
DATED = "Infiltración el 03/03/2021. Revisión el 17/03/2021."
SECRET = "contract-secret"
MakeDeidentifier = Callable[[str], Deidentifier]


class DeidentifierContract(Contract):
    """What every de-identifier does. A subclass provides `make(secret)`."""

    protocol = Deidentifier

    @pytest.fixture(scope="class")
    def subject(self, make: MakeDeidentifier) -> Deidentifier:
        return make(SECRET)

    @pytest.mark.parametrize("language", list(NOTES))
    def test_identifiers_are_gone_and_the_clinical_words_stay(self, subject: Deidentifier, language: str) -> None:
        note, identifiers, clinical = NOTES[language]
        out = subject.deidentify(note, patient_key="556677", language=language).text
        assert [i for i in identifiers if i in out] == [], "identifiers left in the text"
        assert [c for c in clinical if c not in out] == []

    def test_pseudonyms_are_stable_keyed_by_the_secret_and_per_patient(self, make: MakeDeidentifier,
                                                                       subject: Deidentifier) -> None:
        again, other_clinic = make(SECRET), make("another-secret")
        assert subject.pseudonym("556677") == again.pseudonym("556677"), "the same patient across runs"
        assert subject.pseudonym("556677") != other_clinic.pseudonym("556677"), "keyed: useless without the secret"
        assert subject.pseudonym("556677") != subject.pseudonym("556678")
        assert "556677" not in subject.pseudonym("556677")

    def test_date_shifts_are_per_patient_and_keep_intervals(self, make: MakeDeidentifier,
                                                            subject: Deidentifier) -> None:
        first, second = dt.date(2021, 3, 3), dt.date(2021, 3, 17)
        shifts = {}
        for patient in (f"P-{i}" for i in range(8)):
            a, b = subject.shift_date(first, patient), subject.shift_date(second, patient)
            assert a != first and (b - a) == (second - first), "a patient's intervals survive"
            shifts[patient] = a - first
        assert len(set(shifts.values())) > 1, "each patient has their own shift"
        assert make(SECRET).shift_date(first, "P-0") - first == shifts["P-0"], "stable across runs"
        out = subject.deidentify(DATED, patient_key="P-0", language="es").text
        found = [dt.datetime.strptime(d, "%d/%m/%Y").date() for d in re.findall(r"\d{2}/\d{2}/\d{4}", out)]
        assert found == [subject.shift_date(first, "P-0"), subject.shift_date(second, "P-0")], out

    def test_a_batch_equals_one_call_per_text(self, subject: Deidentifier) -> None:
        texts = [NOTES["es"][0], NOTES["en"][0], "", DATED]
        keys = ["556677", "4456789", None, "P-0"]
        batch = subject.deidentify_many(texts, patient_keys=keys)
        assert [r.text for r in batch] == [subject.deidentify(t, patient_key=k).text for t, k in zip(texts, keys)]

    def test_empty_text_is_fine(self, subject: Deidentifier) -> None:
        assert subject.deidentify("").text == ""
        assert subject.deidentify("   ", patient_key="P-1").text.strip() == ""
        assert list(subject.deidentify_many([])) == []


class TestPresidioDeidentifier(DeidentifierContract):
    @pytest.fixture(scope="class")
    def make(self) -> MakeDeidentifier:
        return lambda secret: PresidioDeidentifier(DeidSettings(secret=SecretStr(secret)))
