"""English notes and letters: names, streets, towns and phones that the rules and gazetteers now remove, each beside
a guard (clinical text of the same shape that must stay). Every name, street and number here is invented."""

from __future__ import annotations

import pytest

from indexing.deid import Deidentifier
from tests.indexing.deid.conftest import assert_removed

# (note, words that must not survive, clinical text that must survive)
REMOVED = [
    # a number that the word after it says is a phone
    ("Call back: 416 60 039 office, (37) 788-063-Office. Knee effusion.",
     ["416", "039", "788", "063"], ["Knee effusion"]),
    # words in Greek script, and the house number beside them
    ("She lives at 10252 Μεγάλη Άμμος 184, ΠΑΦΟΣ. TNF-α was normal; 5 μg/kg.",
     ["10252", "Μεγάλη", "Άμμος", "184", "ΠΑΦΟΣ"], ["TNF-α was normal; 5 μg/kg"]),
    # a street typed in lower case: after a cue, or with its street type
    ("pt lives at 255 hersnapvej 18, ringsted. knee pain for 3 weeks.", ["hersnapvej", "255", "18"],
     ["knee pain for 3 weeks"]),
    ("contact:\n3747 3911 fourth avenue suite 112\nwalks 2 blocks down the road with a cane.",
     ["3747", "3911", "fourth", "112"], ["walks 2 blocks down the road with a cane"]),
    # the corner of two streets, with an abbreviation's period in the first
    ("Meet at the corner of 35 Pentelis Str. and Waechter Turnpike. Baker cyst on ultrasound.",
     ["Pentelis", "Waechter", "Turnpike"], ["Baker cyst on ultrasound"]),
    # the town on the line above the country, and after a unit before the country
    ("Przemek Kucharski\n\nALFRICK\nUnited Kingdom\nOsgood-Schlatter disease.", ["ALFRICK"], ["Osgood-Schlatter disease"]),
    ("Posted to 12 Timms Drive Suite 215 NUNGATTA Australia. Hoffa fat pad impingement.", ["NUNGATTA", "Timms"],
     ["Hoffa fat pad impingement", "Australia"]),
    # a middle initial or a particle between two parts of one name or place
    ("Name:    Martim A Pereira\nReferred for Parkinson disease.", ["Martim", "A", "Pereira"], ["Parkinson disease"]),
    ("Suite 632\n Črni Vrh nad Idrijo\n Slovenia 15755", ["Črni", "Vrh", "nad", "Idrijo", "15755"], []),
    # a title makes an eponym a surname
    ("Seen with Mrs. Baker and Dr. Harris. Baker cyst; Harris hip score 71.", ["Mrs. Baker", "Dr. Harris"],
     ["Baker cyst; Harris hip score 71"]),
    # speakers of a dialogue, and a name before a colon and a quotation
    ("Ubul: What a wife.\nNicole: Remember the knee brace.", ["Ubul", "Nicole"], ["Remember the knee brace"]),
    ('Enrico shouted at Gary: "What are you doing here?"', ["Gary"], ["What are you doing here?"]),
    # names typed in lower case: alone at the start of a line, or with a middle initial
    ("naomi ryan\nsewer pipe cleaner, right knee pain.", ["naomi", "ryan"], ["right knee pain"]),
    ("verses from eric g. samoylova's book; lisa y mucosa normales.", ["eric", "samoylova"], ["lisa y mucosa normales"]),
    # a line that is only a name with a known surname (a signature, the head of an address block)
    ("Maha Cazares\n\nChiclana de la Frontera\nSpain 61709", ["Maha", "Cazares", "Chiclana", "Frontera"], ["Spain"]),
    # an identifier after "number is"
    ("my driver's license number is 2270-66-1551", ["2270"], ["license number is"]),
]

# text of the same shapes that is clinical and must stay whole (English and Spanish)
KEPT = [
    "Physical Examination\nLeft Knee\nMild effusion, medial joint line tenderness.",
    "Plan: rest\nDiagnosis: knee osteoarthritis\nFollow-up: 6 weeks",
    "Walks 2 blocks down the road; 3 sessions at the center per week.",
    "Exploración Física\nRodilla derecha\nDolor en interlínea medial.",
    "Piel lisa y mucosa normal; vitamin d levels low; grade a tear of the ACL.",
    "Quiste de Baker, enfermedad de Crohn, síndrome de Down, Osgood-Schlatter y grasa de Hoffa.",
    "Antecedentes\nEspaña",
    "BP 120/80 at home; HR 72 at work; 3 times a day at home.",
]


@pytest.mark.parametrize(("note", "phi", "clinical"), REMOVED, ids=[f"case{i}" for i in range(len(REMOVED))])
def test_the_identifier_is_removed_and_the_clinical_text_stays(deid: Deidentifier, note: str, phi: list[str],
                                                               clinical: list[str]) -> None:
    assert_removed(deid, note, phi, clinical)


@pytest.mark.parametrize("note", KEPT, ids=[f"kept{i}" for i in range(len(KEPT))])
def test_clinical_text_of_the_same_shape_stays(deid: Deidentifier, note: str) -> None:
    lang = "es" if any(w in note for w in ("Exploración", "Piel", "Quiste", "Antecedentes")) else "en"
    out = deid.deidentify(note, language=lang)
    assert out.text == note, out.text


def test_a_dialogue_typed_in_lower_case_loses_its_speakers_names(deid: Deidentifier) -> None:
    out = deid.deidentify('mika: "who are you?"\ntracy:"i am her daughter".', language="en").text
    assert "mika" not in out and "tracy" not in out and '"who are you?"' in out


def test_lower_case_labels_before_a_quotation_stay(deid: Deidentifier) -> None:
    note = 'plan: "rest" for 2 weeks\ndx: knee oa'
    assert deid.deidentify(note, language="en").text == note
