"""A street written without its type word is removed when what follows its name says it is one: a house-number
marker ("No.", "Nº", "número"), "s/n", a number and a Mexican colonia, a road and its kilometre, and a labelled
address whose value has initials or abbreviations in it. Numbers after clinical and form words stay, and so does the
clinical text around the address."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier

# (note, words that must not survive, clinical text that must survive, language); every address is invented
REMOVED = [
    ("Remitido por: Dra. Inés Valcárcel. Tornabuoni No. 318, Mérida. Gonalgia derecha de tres meses.",
     ["Tornabuoni", "318"], ["Gonalgia derecha de tres meses"], "es"),
    ("Se cita en consulta. Domicilio del paciente: Alcaravea Nº 77 3º piso. Rotura del menisco interno.",
     ["Alcaravea", "77"], ["Rotura del menisco interno"], "es"),
    ("Dr. Ulises Marroquí. Ciprés Azul número 2201, Valparaíso. Tendinopatía aquílea.",
     ["Ciprés", "Azul", "2201"], ["Tendinopatía aquílea"], "es"),
    ("Unidad de Rodilla, Clínica Norte. Ribera del Tormo s/n, 37008 Salamanca. Quiste de Baker.",
     ["Tormo", "s/n"], ["Quiste de Baker"], "es"),
    ("Servicio de Traumatología. Camposanto Viejo, SN. Enfermedad de Osgood-Schlatter.",
     ["Camposanto", "Viejo", "SN"], ["Osgood-Schlatter"], "es"),
    ("Consultorio privado: Tlacotalpan 48, Col. Mirasoles, Ciudad de México. Signo de Hoffa positivo.",
     ["Tlacotalpan", "48", "Mirasoles"], ["Signo de Hoffa positivo"], "es"),
    ("Centro de Especialidades, A-44, km 212. Tratamiento con Adiro 100 mg.",
     ["212"], ["Tratamiento con Adiro 100 mg"], "es"),
    ("Nombre: Celia Otaduy Barral.\nDomicilio: B. Navazo Ruiz No. 56 entre Olmo y R. Quintana.\nEnfermedad de Parkinson.",
     ["Navazo", "56", "Olmo", "Quintana"], ["Enfermedad de Parkinson"], "es"),
    ("Domicilio: A. Virgen del Carrascal, 19, 2B.\nLocalidad: Soria.\nGonartrosis bilateral.",
     ["Virgen", "Carrascal", "19", "2B"], ["Gonartrosis bilateral"], "es"),
]

# numbers after words that are not streets, in sentences whose words must all stay
KEPT = [
    "Figura Nº 2: resonancia de rodilla con rotura meniscal.",
    "Caso No. 3 de la serie, sin complicaciones.",
    "Se implantó una bioprótesis Valvora nº 23 sin incidencias.",
    "Ingresa en Cama nº 14 de la planta de Traumatología.",
    "Temperatura de 37º C. Infundimos suero fisiológico.",
    "Sale a correr, carrera 3 veces por semana.",
    "Leucocitos 8.800/ul con 23% de segmentados.",
]


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


@pytest.mark.parametrize(("note", "phi", "clinical", "lang"), REMOVED, ids=[f"case{i}" for i in range(len(REMOVED))])
def test_a_street_without_its_type_is_removed(deid: Deidentifier, note: str, phi: list[str], clinical: list[str],
                                              lang: str) -> None:
    out = deid.deidentify(note, language=lang).text
    for word in phi:
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", out), f"{word!r} survived: {out!r}"
    for text in clinical:
        assert text in out, f"{text!r} was lost: {out!r}"


@pytest.mark.parametrize("note", KEPT, ids=[f"kept{i}" for i in range(len(KEPT))])
def test_numbers_after_clinical_and_form_words_stay(deid: Deidentifier, note: str) -> None:
    out = deid.deidentify(note, language="es")
    assert not [s for s in out.spans if s.type == "ADDRESS"], out.text
