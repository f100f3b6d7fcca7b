"""A numeric date is shifted as extraction reads it (`extract.date_order`), in Spanish and English notes alike: an
English note of a Spanish clinic writes 08/12/2023 for 8 December, and the shifted date must still be read as the
same day plus the patient's offset, or follow-up intervals and merged treatment courses come out months off."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier
from indexing.extraction.normalize import find_dates


def _deid(order: str) -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("test-secret-date-order")), date_order=order)


@pytest.mark.parametrize(("order", "first", "second"), [
    ("auto", dt.date(2023, 12, 8), dt.date(2024, 1, 2)),   # day first, as extraction's auto reads it
    ("dmy", dt.date(2023, 12, 8), dt.date(2024, 1, 2)),
    ("mdy", dt.date(2023, 8, 12), dt.date(2024, 2, 1)),    # a US clinic's order, configured
])
def test_english_numeric_dates_are_shifted_as_extraction_reads_them(order: str, first: dt.date,
                                                                     second: dt.date) -> None:
    deid = _deid(order)
    note = "PRP injection on 08/12/2023. Follow-up visit on 02/01/2024, pain much improved."
    out = deid.deidentify(note, patient_key="P-77", language="en").text
    assert "08/12/2023" not in out and "02/01/2024" not in out
    read = [d for _s, _e, d in find_dates(out, order)]  # type: ignore[arg-type]
    offset = dt.timedelta(days=deid.date_offset_days("P-77"))
    assert read == [first + offset, second + offset], out
    assert (read[1] - read[0]) == (second - first)


def test_an_impossible_reading_decides_whatever_the_order() -> None:
    deid = _deid("auto")
    out = deid.deidentify("Seen 12/25/2023 and 03/01/2024.", patient_key="P-78", language="en").text
    found = re.findall(r"\d{2}/\d{2}/\d{4}", out)
    offset = dt.timedelta(days=deid.date_offset_days("P-78"))
    # 12/25 can only be month first; it stays month first, shifted
    assert dt.datetime.strptime(found[0], "%m/%d/%Y").date() == dt.date(2023, 12, 25) + offset
