"""The bundled coder (learned from CodiEsp train), as a clinic without its own coded notes gets it."""

from __future__ import annotations

import pytest

from indexing.coding.coder import LexiconCoder, load_coder


@pytest.fixture(scope="module")
def coder() -> LexiconCoder:
    loaded = load_coder(None)
    assert loaded is not None, "the bundled coder model is missing"
    return loaded


def codes(coder: LexiconCoder, text: str, language: str) -> set[str]:
    """The codes `coder` gives `text`."""
    return {c.code for c in coder.code(text, language=language)}  # type: ignore[arg-type]
