"""One de-identifier with the default settings for the rule tests, and how they check a note."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


def assert_removed(deid: Deidentifier, note: str, phi: list[str], clinical: list[str]) -> None:
    """Every word of `phi` is gone from the English note as a whole word, and every text of `clinical` is still there."""
    out = deid.deidentify(note, language="en").text
    for word in phi:
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", out), f"{word!r} survived: {out!r}"
    for text in clinical:
        assert text in out, f"{text!r} was lost: {out!r}"
