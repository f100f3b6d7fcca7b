"""A name after "Paciente", "Patient", "Sr./Sra.", "Mr./Mrs." is removed whatever precedes it on the line or above it:
a heading, a colon, a Markdown heading or emphasis, a list bullet. Clinical content and eponyms survive."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier

# (note, name words that must not survive, clinical text that must survive, language)
CASES = [
    ("Nota de seguimiento: Paciente Tomás Ibarra Gil, NHC 9988776. Epicondilitis lateral izquierda; EVA 6/10.",
     ["Tomás", "Ibarra", "Gil"], ["Epicondilitis lateral izquierda", "EVA 6/10"], "es"),
    ("Nota de seguimiento\nPaciente Tomás Ibarra Gil, NHC 9988776.\nSe indica plasma rico en plaquetas.",
     ["Tomás", "Ibarra", "Gil"], ["plasma rico en plaquetas"], "es"),
    ("INFORME DE CONSULTA\nPaciente Tomás Ibarra Gil, NHC 9988776. Epicondilitis lateral izquierda.",
     ["Tomás", "Ibarra", "Gil"], ["Epicondilitis lateral izquierda"], "es"),
    ("Motivo de consulta: Paciente Tomás Ibarra Gil acude por epicondilitis lateral izquierda. EVA 6/10.",
     ["Tomás", "Ibarra", "Gil"], ["epicondilitis lateral izquierda", "EVA 6/10"], "es"),
    ("Revisión: Sra. Lucía Ferrán Olmedo, 54 años, con quiste de Baker y signo de Hoffa positivo.",
     ["Lucía", "Ferrán", "Olmedo"], ["quiste de Baker", "Hoffa"], "es"),
    ("Control. Sr. Anselmo Quiroga Belda refiere mejoría de su enfermedad de Osgood-Schlatter.",
     ["Anselmo", "Quiroga", "Belda"], ["Osgood-Schlatter", "refiere mejoría"], "es"),
    (("# Nota de seguimiento\nPaciente Tomás Ibarra Gil, NHC 9988776.\n\n## Plan\n"
      "Epicondilitis lateral izquierda; se indica una infiltración de **plasma rico en plaquetas**. EVA 6/10."),
     ["Tomás", "Ibarra", "Gil"], ["Epicondilitis lateral izquierda", "plasma rico en plaquetas", "EVA 6/10"], "es"),
    ("**Paciente:** Tomás Ibarra Gil\n**NHC:** 9988776\nEpicondilitis lateral izquierda.",
     ["Tomás", "Ibarra", "Gil", "9988776"], ["Epicondilitis lateral izquierda"], "es"),
    ("**Paciente** Tomás Ibarra Gil, NHC 9988776.", ["Tomás", "Ibarra", "Gil"], [], "es"),
    ("- Paciente Tomás Ibarra Gil, NHC 9988776.\n- EVA 6/10.", ["Tomás", "Ibarra", "Gil"], ["EVA 6/10"], "es"),
    ("Follow-up note: Patient Harold Wexley Brandt, MRN 9988776. Osgood-Schlatter disease, VAS 6/10.",
     ["Harold", "Wexley", "Brandt"], ["Osgood-Schlatter disease", "VAS 6/10"], "en"),
    (("# Follow-up note\nPatient Harold Wexley Brandt, MRN 9988776.\n\n## Plan\n"
      "Platelet-rich plasma injection; history of Parkinson disease."),
     ["Harold", "Wexley", "Brandt"], ["Platelet-rich plasma injection", "Parkinson disease"], "en"),
    ("Clinic letter: Mrs. Edna Pollard Kimble attends with knee pain and a Baker's cyst.",
     ["Edna", "Pollard", "Kimble"], ["knee pain", "Baker's cyst"], "en"),
    ("Review: Mr. Desmond Achterberg, 61, lateral epicondylitis; Hoffa fat pad impingement.",
     ["Desmond", "Achterberg"], ["lateral epicondylitis", "Hoffa fat pad"], "en"),
    ("**Patient:** Harold Wexley Brandt, MRN 9988776", ["Harold", "Wexley", "Brandt", "9988776"], [], "en"),
]


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


@pytest.mark.parametrize(("note", "names", "clinical", "lang"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_name_after_a_cue_is_removed_whatever_precedes_it(
    deid: Deidentifier, note: str, names: list[str], clinical: list[str], lang: str
) -> None:
    out = deid.deidentify(note, patient_key="9988776", language=lang).text
    for word in names:
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", out), f"{word!r} survived: {out!r}"
    for text in clinical:
        assert text in out, f"clinical text {text!r} lost: {out!r}"
    placeholder = "NOMBRE" if lang == "es" else "PERSON"
    assert re.search(rf"\[{placeholder}_[0-9A-F]{{4}}\]", out), "the name is a person, not a place"


def test_the_heading_does_not_change_the_replacement(deid: Deidentifier) -> None:
    """The same note with and without a heading before it gets the same placeholder for the name."""
    bare = deid.deidentify("Paciente Tomás Ibarra Gil, NHC 9988776.", patient_key="9988776", language="es").text
    headed = deid.deidentify("Nota de seguimiento: Paciente Tomás Ibarra Gil, NHC 9988776.",
                             patient_key="9988776", language="es").text
    assert headed == "Nota de seguimiento: " + bare
