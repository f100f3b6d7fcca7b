"""Notes typed in a hurry: a condition or treatment with one word mistyped is still found, and nothing else is."""

from __future__ import annotations

import pytest

from casewise.vocabulary import BUILTIN, one_edit
from indexing.extraction.rules import RulesExtractor


@pytest.fixture(scope="module")
def rules() -> RulesExtractor:
    return RulesExtractor()


def _dx(rules: RulesExtractor, text: str) -> list[str]:
    return sorted(d.name for d in rules.extract(text).diagnoses)


def _tx(rules: RulesExtractor, text: str) -> list[str]:
    return sorted(t.name for t in rules.extract(text).treatments)


@pytest.mark.parametrize("text", [
    "75-year-old male. Impression: kne OA right KL 3. Plan: PRP injection, 5 ml.",
    "Pt with OA of the kne, had hyaluronan 28 Apr 2022.",
    "Varón de 70 años. Juicio clínico: artrosis de rodiila derecha. Plan: PRP.",
    "Mujer de 60 años con gonartosis derecha, EVA 7. Se pauta PRP.",
])
def test_a_condition_with_one_mistyped_word_is_found(rules: RulesExtractor, text: str) -> None:
    assert _dx(rules, text) == ["knee_oa"]


def test_a_mistyped_treatment_is_found(rules: RulesExtractor) -> None:
    assert _tx(rules, "Knee OA left. Plan: physiotherpy, 10 sessions.") == ["physiotherapy"]
    assert "hyaluronic_acid" in _tx(rules, "Artrosis de rodilla. Se infiltra acido hialuronio intraarticular.")


def test_a_correctly_written_condition_is_not_read_as_another(rules: RulesExtractor) -> None:
    # 'knee' and 'hip' are words of the vocabulary: never a slip of anything
    assert _dx(rules, "Knee OA right, KL 2. Plan: PRP.") == ["knee_oa"]
    assert _dx(rules, "Hip OA left. Plan: PRP.") == ["hip_oa"]
    # 'hombre' (man) is one edit from 'hombro' (shoulder) but a word of its own
    assert "rotator_cuff_tendinopathy" not in _dx(rules, "Hombre congelado de frío. Artrosis de rodilla. PRP.")


def test_a_short_word_alone_is_not_guessed() -> None:
    tolerant = BUILTIN.tolerant()
    assert tolerant.diagnosis_mentions("kne") == []          # no one-word synonym to complete
    assert tolerant.treatment_mentions("PRG 5 ml") == []     # abbreviations are never read as slips
    assert tolerant.treatment_mentions("Synvisk") == []      # a short one-word name (a brand) needs its exact form


def test_drug_names_and_eponyms_keep_their_meaning(rules: RulesExtractor) -> None:
    tolerant = BUILTIN.tolerant()
    assert [m.id for m in tolerant.treatment_mentions("Durolane 3 ml")] == ["hyaluronic_acid"]
    assert [m.id for m in tolerant.treatment_mentions("triamcinolona 40 mg")] == ["corticosteroid"]
    assert [m.id for m in tolerant.treatment_mentions("Celestone 1 ml")] == ["corticosteroid"]
    # eponyms of other conditions are not turned into the clinic's
    assert _dx(rules, "Dupuytren's contracture of the right hand.") != ["knee_oa"]
    assert "de_quervain" in _dx(rules, "De Quervain tenosynovitis, right wrist.")


def test_a_word_one_edit_from_two_different_words_is_ambiguous() -> None:
    from casewise.vocabulary import TypoCorrector

    fixer = TypoCorrector(["knee", "kneel"], known=[])
    assert fixer.correction("kne") == "knee"
    assert fixer.correction("knel") is None  # one edit from both


def test_one_edit() -> None:
    assert one_edit("kne", "knee") and one_edit("kneee", "knee") and one_edit("pacinete", "paciente")
    assert one_edit("rodila", "rodilla") and not one_edit("rodilla", "rodilla") and not one_edit("kn", "knee")
    assert not one_edit("abcd", "badc")


def test_an_adverse_event_written_with_a_slip_is_found(rules: RulesExtractor) -> None:
    note = ("Consulta sucesiva. F.: 17 de agosto de 2024\ns/p PRP 10/08/2023.\nEVA 4 (EVA previa 6).\n"
            "Refiere dolr post-infiltración las primeras 48 h, cedió con frío.")
    events = rules.extract(note).adverse_events
    assert [(a.name, a.treatment) for a in events] == [("post_injection_flare", "prp")]
    # the span points at the words as the note writes them
    assert note[events[0].span[0]:events[0].span[1]].startswith("dolr post")


def test_a_side_is_never_read_from_a_cut_word(rules: RulesExtractor) -> None:
    # the 25 characters after the condition end inside 'platelet-rich': its 'r' is not 'right'
    sides = [d.side for d in rules.extract("Assessment: kne osteoarthritis [PERSON_F489] platelet-rich plasma IA, "
                                           "3 shots q2w.").diagnoses]
    assert sides == [None]
    assert [d.side for d in rules.extract("Gonartrosis izquierda KL 2. PRP.").diagnoses] == ["left"]
