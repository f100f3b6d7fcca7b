"""A general 'tendinosis' with its tendon named beside it is the clinic's site-specific tendinopathy."""

from __future__ import annotations

import pytest

from indexing.extraction.rules import RulesExtractor


@pytest.fixture(scope="module")
def rules() -> RulesExtractor:
    return RulesExtractor()


def _dx(rules: RulesExtractor, text: str) -> list[str]:
    return sorted(d.name for d in rules.extract(text).diagnoses)


def test_achilles_tendinosis_is_achilles_tendinopathy(rules: RulesExtractor) -> None:
    assert _dx(rules, "49-year-old M. Impression: Achilles tendinosis lt. Plan: physiotherapy (10 visits).") == [
        "achilles_tendinopathy"]
    assert _dx(rules, "Dx: tendinosis aquílea derecha. Plan: PRP.") == ["achilles_tendinopathy"]


def test_a_tendinosis_of_no_named_tendon_stays_general(rules: RulesExtractor) -> None:
    assert _dx(rules, "Impression: tendinosis of the wrist extensors. Plan: PRP.") == ["tendinopathy"]
