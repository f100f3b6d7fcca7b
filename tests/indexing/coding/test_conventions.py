"""Coding conventions a clinician notices on a regenerative-medicine clinic's notes (invented here): the side the
note states is the code's side, R52 is not added beside the pain or condition that includes it, and a shock wave
treatment is neither circulatory shock nor an ECG. Expected codes are ICD-10-CM's own (M25.561 'Pain in right knee',
M17.11 'Unilateral primary osteoarthritis, right knee', R52 'Pain, unspecified' Excludes1 pain by site)."""

from __future__ import annotations

import pytest

from indexing.coding.coder import LexiconCoder
from indexing.coding.context import note_side, side_of
from indexing.coding.conventions import integral_symptom, treatment_spans, with_side, with_site
from tests.indexing.coding.conftest import codes


def test_an_unspecified_side_code_takes_the_side_stated() -> None:
    assert with_side("m25.569", "right") == "m25.561" and with_side("m25.569", "left") == "m25.562"
    assert with_side("m25.519", "left") == "m25.512"  # pain in left shoulder
    assert with_side("m17.9", "right") == "m17.11" and with_side("m17.10", "left") == "m17.12"
    assert with_side("m17.9", "bilateral") == "m17.0"
    assert with_side("m25.569", None) == "m25.569" and with_side("i10", "right") == "i10"


def test_osteoarthritis_of_an_unspecified_site_takes_the_joint_named() -> None:
    assert with_site("m19.90", frozenset({"knee"})) == "m17.9" and with_site("m19.90", frozenset({"hip"})) == "m16.9"
    assert with_site("m19.90", frozenset({"knee", "hip"})) == "m19.90" and with_site("m19.90", frozenset()) == "m19.90"
    assert with_site("i10", frozenset({"knee"})) == "i10"


def test_a_spanish_knee_osteoarthritis_is_coded_to_the_knee_and_its_side(coder: LexiconCoder) -> None:
    got = codes(coder, "Juicio clínico: artrosis de rodilla drcha grado 2 de Kellgren-Lawrence.", "es")
    assert "m17.11" in got and "m19.90" not in got, got


def test_sides_as_clinicians_abbreviate_them() -> None:
    text = "Refiere dolor en rodilla dcha desde hace 3 meses."
    assert side_of(text, text.index("dolor"), text.index(" dcha")) == "right"
    assert note_side("Gonalgia izq. Rodilla izda con derrame.") == "left"
    assert note_side("Rodilla dcha operada, ahora dolor en la izquierda.") is None
    assert note_side("Sin lado.") is None
    for text, side in (("c/o lt knee pain x 8 months", "left"), ("3-month hx of rt knee pain", "right"),
                       ("L knee pain for 4 mo", "left"), ("Right shoulder pain", "right"), ("knee pain", None)):
        low = text.lower()
        start = low.index("knee") if "knee" in low else low.index("shoulder")  # the mention 'knee pain'
        assert side_of(text, start, text.index("pain") + 4) == side, text


def test_unspecified_pain_is_not_added_beside_pain_by_site_or_a_musculoskeletal_condition() -> None:
    assert integral_symptom("r52", {"r52", "m25.561"}) and integral_symptom("r52", {"m17.11"})
    assert not integral_symptom("r52", {"r52", "i10"}) and not integral_symptom("m25.561", {"m17.11"})


def test_shock_wave_treatment_names_are_found() -> None:
    text = "Plan: 3 sesiones de ondas de choque radiales. Extracorporeal shock wave therapy; shockwaves."
    found = [text[a:b].lower() for a, b in treatment_spans(text)]
    assert found == ["ondas de choque radiales", "extracorporeal shock wave therapy", "shockwaves"]


@pytest.mark.parametrize(("text", "language"), [
    ("Tendinopatía aquílea derecha. Plan: tratamiento con ondas de choque, 3 sesiones.", "es"),
    ("Plantar fasciitis, left heel. Plan: extracorporeal shock wave therapy, 3 sessions.", "en"),
])
def test_a_shock_wave_treatment_is_no_shock_and_no_ecg(coder: LexiconCoder, text: str, language: str) -> None:
    got = codes(coder, text, language)
    assert not {c for c in got if c.startswith(("r57", "r65", "4a02"))}, got


def test_circulatory_shock_is_still_coded(coder: LexiconCoder) -> None:
    assert {c for c in codes(coder, "Ingresa en UCI por shock séptico.", "es") if c.startswith(("r57", "r65"))}


def test_a_knee_pain_on_the_right_is_coded_right_and_without_r52(coder: LexiconCoder) -> None:
    for text, lang in (("Refiere dolor en rodilla derecha desde hace 6 meses que limita la marcha.", "es"),
                       ("Pain in the right knee for 6 months, worse on stairs.", "en")):
        got = codes(coder, text, lang)
        assert "m25.569" not in got and "r52" not in got, (lang, got)
        assert not {c for c in got if c.startswith("m25.56")} - {"m25.561"}, (lang, got)
