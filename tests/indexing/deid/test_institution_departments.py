"""A hospital's name is removed without the department beside it ("Servicio de Urología" names a specialty, not a
place), and "Clínica" after a discipline is its adjective ("Nutrición Clínica y Dietética"), not a clinic; a
regional health service and a clinic whose name goes on are still institutions. Names are invented or public."""

from __future__ import annotations

import pytest

from indexing.deid import Deidentifier


@pytest.mark.parametrize(("note", "gone", "kept"), [
    ("Hospital García Orcoyen Servicio de Cirugía Ortopédica y Traumatología. Estella.", ["García Orcoyen"],
     ["Servicio de Cirugía Ortopédica y Traumatología"]),
    ("Unidad de Nutrición Clínica y Dietética, Hospital Universitario La Paz, Madrid.", ["La Paz"],
     ["Unidad de Nutrición Clínica y"]),
    ("Servicio de Neurofisiología Clínica Hospital Virgen del Camino, Pamplona.", ["Virgen del Camino"],
     ["Servicio de Neurofisiología Clínica"]),
    ("Departamento de Oftalmología Clínica Universitaria de Navarra, Pamplona.", ["Universitaria de Navarra"],
     ["Departamento de Oftalmología"]),
])
def test_the_institution_goes_and_its_department_stays(deid: Deidentifier, note: str, gone: list[str],
                                                       kept: list[str]) -> None:
    out = deid.deidentify(note, language="es").text
    for name in gone:
        assert name not in out, out
    for text in kept:
        assert text in out, out


def test_a_clinical_adjective_alone_is_no_institution(deid: Deidentifier) -> None:
    note = "Valorada en consulta de Psicología Clínica y de la Salud; gonartrosis, quiste de Baker."
    out = deid.deidentify(note, language="es")
    assert not [s for s in out.spans if s.type == "INSTITUTION"], out.text
    assert "quiste de Baker" in out.text
