"""Transcripts and chats: a speaker label's name is removed, even typed in lower case ("dr. fernández:"), and the
first word of what a speaker says after a role label ("Paciente: Me duele ...") is no name. Streets written in lower
case ("calle mayor 12", "avda. de la constitución 3") are removed. Every name and address here is invented."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier

# (text, words that must not survive, text that must survive, language)
REMOVED = [
    ("dr. fernández: control en tres meses.\npaciente: de acuerdo.", ["fernández"], ["control en tres meses"], "es"),
    ("dra. lópez de la rosa: ¿le duele al bajar escaleras?", ["lópez", "rosa"], ["le duele al bajar escaleras"], "es"),
    ("> sra. martínez gil: gracias, doctora.", ["martínez", "gil"], ["gracias, doctora"], "es"),
    ("Dr. Quiroga: ¿Desde cuándo?\nPaciente: Desde marzo.", ["Quiroga"], ["Desde marzo", "Desde cuándo"], "es"),
    ("Vive en calle mayor 12, 3º izq, con su hija.", ["mayor", "12"], ["con su hija"], "es"),
    ("Domicilio: avda. de la constitución 3, 2º B.\nGonartrosis bilateral.", ["constitución"],
     ["Gonartrosis bilateral"], "es"),
    ("Reside en c/ san bernardo 45 desde 2010. Artrosis de cadera.", ["bernardo", "45"], ["Artrosis de cadera"], "es"),
    ("Dirección: plaza de la paja 7 bajo B.\nRotura meniscal.", ["paja"], ["Rotura meniscal"], "es"),
    ("Vive en plaza de la paja 7 bajo B. Rotura meniscal.", ["paja"], ["Rotura meniscal"], "es"),
]

# a role label, then what the speaker says: every word stays
KEPT = [
    ("Paciente: Me duele la rodilla desde hace meses.", "es"),
    ("Paciente: Sí, mucho, sobre todo al subir escaleras.", "es"),
    ("Doctor: Vamos a infiltrar la rodilla derecha.", "es"),
    ("Acompañante: Yo soy su hija y la acompaño.", "es"),
    ("Patient: My knee hurts when I climb stairs.", "en"),
    ("dra. de guardia: paciente estable, sin fiebre.", "es"),
]

# a role label, then a name alone on its line: still removed
NAMES_AFTER_LABELS = [
    ("Paciente: Ataúlfo\nEdad: 60", "Ataúlfo", "es"),
    ("Familiar: Remedios Olano\nParentesco: hija", "Olano", "es"),
    ("Patient: Wendell Okafor\nAge: 54", "Okafor", "en"),
]


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


@pytest.mark.parametrize(("note", "phi", "kept", "lang"), REMOVED, ids=[f"removed{i}" for i in range(len(REMOVED))])
def test_speaker_names_and_lower_case_streets_are_removed(deid: Deidentifier, note: str, phi: list[str],
                                                          kept: list[str], lang: str) -> None:
    out = deid.deidentify(note, language=lang).text
    for word in phi:
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", out), f"{word!r} survived: {out!r}"
    for text in kept:
        assert text in out, f"{text!r} was lost: {out!r}"


@pytest.mark.parametrize(("note", "lang"), KEPT, ids=[f"kept{i}" for i in range(len(KEPT))])
def test_what_a_speaker_says_after_a_role_label_is_no_name(deid: Deidentifier, note: str, lang: str) -> None:
    out = deid.deidentify(note, language=lang)
    assert out.text == note, out.text


@pytest.mark.parametrize(("note", "name", "lang"), NAMES_AFTER_LABELS,
                         ids=[f"label{i}" for i in range(len(NAMES_AFTER_LABELS))])
def test_a_name_alone_after_a_label_is_still_removed(deid: Deidentifier, note: str, name: str, lang: str) -> None:
    assert name not in deid.deidentify(note, language=lang).text
