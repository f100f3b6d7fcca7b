"""De-identification: what a clinician or privacy officer would notice in the output."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier
from indexing.deid.patterns import dni_valid

ES_NOTE = (
    "Paciente: María López García, DNI 12345678Z, NIE X1234567L, NHC 998877, NASS 28 12345678 90.\n"
    "Domicilio: C/ Mayor 12, 3º B, 28013 Madrid. Tel. 612 345 678 y 91 234 56 78. Email: maria.lopez@correo.es\n"
    "Web: www.mariadiario.com, IP 192.168.1.20. Fecha de nacimiento: 03/03/1931 (92 años).\n"
    "Acude el 3 de marzo de 2021 por gonartrosis Kellgren-Lawrence grado 3; EVA 7/10, WOMAC 60, Lequesne 12.\n"
    "Se infiltra PRP 4 ml en rodilla derecha (Synvisc previo). Control en abril 2021. Diagnóstico M17.1.\n"
    "Su hija Laura la acompaña. Firma: Dra. Carmen Ruiz Ortega, Nº Col. 28 28 12345. López refiere mejoría."
)
ES_PHI = ["María", "López", "García", "12345678Z", "X1234567L", "998877", "12345678", "Mayor 12", "28013",
          "Madrid", "612 345 678", "91 234 56 78", "maria.lopez@correo.es", "mariadiario", "192.168.1.20",
          "03/03/1931", "3 de marzo de 2021", "abril 2021", "Laura", "Ruiz", "Ortega", "28 28 12345", "92 años"]
EN_NOTE = (
    "Patient John Smith, a 92-year-old man (MRN 4456789, SSN 123-45-6789), seen on March 3, 2021 by Dr. Emily Carter\n"
    "at 123 Main Street, Boston, MA 02115. Phone (617) 555-0134, email john.smith@example.com, "
    "portal https://clinic.example.org/p/1, IP 10.0.0.12.\n"
    "Knee OA Kellgren-Lawrence grade 3, WOMAC 54, KOOS 48, VAS 7/10; PRP injection 4 ml with Durolane; "
    "follow-up 2021-06-01. Smith tolerated it well."
)
EN_PHI = ["John", "Smith", "4456789", "123-45-6789", "March 3, 2021", "Emily", "Carter", "123 Main Street", "Boston",
          "02115", "555-0134", "john.smith@example.com", "clinic.example.org", "10.0.0.12", "2021-06-01", "92-year"]
CLINICAL_ES = ["gonartrosis", "Kellgren-Lawrence", "EVA 7/10", "WOMAC 60", "Lequesne 12", "PRP 4 ml", "rodilla derecha",
               "Synvisc", "M17.1", "grado 3"]
CLINICAL_EN = ["Kellgren-Lawrence grade 3", "WOMAC 54", "KOOS 48", "VAS 7/10", "PRP injection 4 ml", "Durolane"]


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1")))


@pytest.mark.parametrize("note,phi,lang", [(ES_NOTE, ES_PHI, "es"), (EN_NOTE, EN_PHI, "en")])
def test_every_phi_type_is_scrubbed(deid: Deidentifier, note: str, phi: list[str], lang: str) -> None:
    out = deid.deidentify(note, patient_key="998877").text
    leaked = [p for p in phi if p in out]
    assert not leaked, f"{len(leaked)} PHI strings survived"


@pytest.mark.parametrize("note,terms", [(ES_NOTE, CLINICAL_ES), (EN_NOTE, CLINICAL_EN)])
def test_clinical_terms_and_scales_survive(deid: Deidentifier, note: str, terms: list[str]) -> None:
    out = deid.deidentify(note, patient_key="998877").text
    assert [t for t in terms if t not in out] == []


def test_language_is_detected_and_placeholders_follow_it(deid: Deidentifier) -> None:
    assert re.search(r"\[NOMBRE_[0-9A-F]{4}\]", deid.deidentify(ES_NOTE).text)
    assert re.search(r"\[PERSON_[0-9A-F]{4}\]", deid.deidentify(EN_NOTE).text)


def test_spans_point_into_the_original_text(deid: Deidentifier) -> None:
    result = deid.deidentify(ES_NOTE, patient_key="998877")
    assert result.spans and all(0 <= s.start < s.end <= len(ES_NOTE) for s in result.spans)
    assert {"PERSON", "ID", "PHONE", "EMAIL", "ADDRESS", "DATE", "AGE_OVER_89"} <= {s.type for s in result.spans}
    assert ES_NOTE[next(s for s in result.spans if s.type == "EMAIL").start:].startswith("maria.lopez@")


def test_same_person_same_placeholder_within_a_patient(deid: Deidentifier) -> None:
    a = deid.deidentify("Nombre: Ernesto Rivera. Refiere dolor.", patient_key="P-1", language="es").text
    b = deid.deidentify("Acompañado de su hija Lucía. Nombre: Ernesto Rivera.", patient_key="P-1", language="es").text
    tag = re.search(r"\[NOMBRE_[0-9A-F]{4}\]", a).group()  # type: ignore[union-attr]
    assert b.endswith(f"Nombre: {tag}.")
    assert re.search(r"hija (\[NOMBRE_[0-9A-F]{4}\])", b).group(1) != tag  # type: ignore[union-attr]


def test_placeholders_need_no_memory_and_differ_between_patients(deid: Deidentifier) -> None:
    """Keyed, stateless surrogates: any document, any run, any order gives the same placeholder (so an incremental
    re-index equals a clean rebuild), and the same name in another patient's notes is not linkable."""
    note = "Patient John Smith was seen."
    first = deid.deidentify(note, patient_key="P-2", language="en").text
    again = Deidentifier(DeidSettings(secret=SecretStr("clinic-secret-1"))).deidentify(
        "Seen again: John Smith.", patient_key="P-2", language="en").text
    other = deid.deidentify(note, patient_key="P-3", language="en").text
    tag = re.search(r"\[PERSON_[0-9A-F]{4}\]", first).group()  # type: ignore[union-attr]
    assert tag in again and tag not in other


def test_patient_record_number_becomes_pseudonym(deid: Deidentifier) -> None:
    out = deid.deidentify("NHC: 998877. Otro caso NHC: 112233.", patient_key="998877", language="es").text
    assert deid.pseudonym("998877") in out and "[ID]" in out


def test_pseudonym_stable_across_instances_and_secret_dependent() -> None:
    a = Deidentifier(DeidSettings(secret=SecretStr("alpha")))
    b = Deidentifier(DeidSettings(secret=SecretStr("alpha")))
    c = Deidentifier(DeidSettings(secret=SecretStr("beta")))
    assert a.pseudonym("NHC-998877") == b.pseudonym("NHC-998877")
    assert a.pseudonym("NHC-998877") != c.pseudonym("NHC-998877")
    assert re.fullmatch(r"PT-[A-Z2-7]{10}", a.pseudonym("NHC-998877"))
    assert "998877" not in a.pseudonym("NHC-998877")


def test_date_offset_is_bounded_nonzero_and_per_patient(deid: Deidentifier) -> None:
    offsets = {deid.date_offset_days(f"patient-{i}") for i in range(200)}
    assert 0 not in offsets and all(-180 <= o <= 180 for o in offsets) and len(offsets) > 50


def test_date_shift_keeps_the_interval_between_two_dates(deid: Deidentifier) -> None:
    note = "Infiltración el 03/03/2021. Revisión el 17/03/2021. Alta el 3 de mayo de 2021."
    out = deid.deidentify(note, patient_key="P-9", language="es").text
    found = re.findall(r"\d{2}/\d{2}/\d{4}", out)
    assert len(found) == 2 and "03/03/2021" not in out
    first, second = (dt.datetime.strptime(f, "%d/%m/%Y").date() for f in found)
    assert (second - first).days == 14
    assert (first - dt.date(2021, 3, 3)).days == deid.date_offset_days("P-9")
    assert deid.shift_date(dt.date(2021, 3, 3), "P-9") == first
    assert re.search(r"\d{1,2} de [a-z]+ de 2021", out)


def test_dates_without_patient_become_placeholders(deid: Deidentifier) -> None:
    assert deid.deidentify("Visto el 03/03/2021.", language="es").text == "Visto el [FECHA]."
    assert deid.deidentify("Seen on March 3, 2021.", language="en").text == "Seen on [DATE]."


def test_ages_over_89_become_90_plus(deid: Deidentifier) -> None:
    assert deid.deidentify("Mujer de 92 años.", language="es").text == "Mujer de 90+ años."
    assert deid.deidentify("A 92-year-old woman.", language="en").text == "A 90+-year-old woman."
    assert deid.deidentify("Varón de 70 años.", language="es").text == "Varón de 70 años."


def test_dni_check_letter_validation(deid: Deidentifier) -> None:
    # 12345678Z is valid, 12345678A is not. Decision: a valid DNI is removed anywhere; an invalid one is removed
    # whole when a label (DNI/NIF) says what it is; without a label its 8 digits are still removed as a long number.
    assert dni_valid("12345678Z") and not dni_valid("12345678A") and dni_valid("X1234567L")
    assert deid.deidentify("Documento 12345678Z aportado.", language="es").text == "Documento [ID] aportado."
    assert deid.deidentify("DNI: 12345678A.", language="es").text == "DNI: [ID]."
    assert "12345678" not in deid.deidentify("Número 12345678A.", language="es").text


def test_professionals_kept_when_policy_says_so() -> None:
    keep = Deidentifier(DeidSettings(secret=SecretStr("s"), remove_professionals=False))
    out = keep.deidentify("Paciente: Ana Gil. Médico: Dr. Pedro Sanz.", language="es").text
    assert "Pedro Sanz" in out and "Ana Gil" not in out


def test_institutions_removed_by_default_and_kept_when_policy_says_so(deid: Deidentifier) -> None:
    note = "Derivada desde el Hospital Universitario La Paz por dolor."
    assert "La Paz" not in deid.deidentify(note, language="es").text
    lenient = Deidentifier(DeidSettings(secret=SecretStr("s"), remove_institutions=False))
    assert "La Paz" in lenient.deidentify(note, language="es").text


def test_batch_equals_one_by_one(deid: Deidentifier) -> None:
    texts = [ES_NOTE, EN_NOTE, "", "Sin datos personales: EVA 5/10."]
    batch = deid.deidentify_many(texts, patient_keys=["a", "b", None, None])
    single = [deid.deidentify(t, patient_key=k) for t, k in zip(texts, ["a", "b", None, None])]
    assert [r.text for r in batch] == [r.text for r in single]
    assert batch[3].text == texts[3] and batch[3].spans == []


def test_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fresh = Deidentifier(DeidSettings(secret=SecretStr("offline")))  # builds the analyzers and loads spaCy here
    out = fresh.deidentify(EN_NOTE + "\n" + ES_NOTE, patient_key="x").text
    assert "john.smith@example.com" not in out and "https://clinic.example.org" not in out


def test_no_phi_in_logs(deid: Deidentifier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    deid.deidentify(ES_NOTE, patient_key="998877")
    assert "María" not in caplog.text and "998877" not in caplog.text


@pytest.mark.parametrize("text,address", [
    ("What address do you live at?: 894 Stehr Junction Unit 52", "894 Stehr Junction"),
    ("Moved to 156 Kris Dam Suite 88 last spring.", "156 Kris Dam"),
    ("Mailing address PSC 0413, Box 8144, APO AA 42323.", "PSC 0413, Box 8144"),
    ("Lives alone, Apt. 595, third floor, no lift.", "Apt. 595"),
])
def test_us_addresses_with_any_usps_suffix_or_unit_are_removed(deid: Deidentifier, text: str, address: str) -> None:
    out = deid.deidentify(text, patient_key="1").text
    assert address not in out and "[ADDRESS]" in out  # short English lines get English placeholders


def test_numbers_followed_by_clinical_words_are_not_addresses(deid: Deidentifier) -> None:
    text = "Received 3 PRP injections; VAS 7 at 3 months; 2 Grade Knee effusion; Unit dose 5 ml."
    assert deid.deidentify(text, patient_key="1").text == text


# ---- labels, titles and record identifiers (MEDDOCAN-style forms) ----------------------------------------------------
@pytest.mark.parametrize("text,kept,gone", [
    ("Nombre: Ernesto Rivera\nFecha nacimiento: 03/04/1950", ["Nombre: ", "\nFecha nacimiento: "],
     ["Ernesto", "Rivera", "1950"]),
    ("Paciente: Ana Gil Pérez    F. nacimiento: 03/04/1950", ["Paciente: ", "    F. nacimiento: "], ["Gil", "1950"]),
    ("Patient: John Smith\tDOB: 1950-04-03", ["Patient: ", "\tDOB: "], ["Smith", "1950"]),
])
def test_the_next_field_label_is_never_swallowed_into_a_name(deid: Deidentifier, text: str, kept: list[str],
                                                              gone: list[str]) -> None:
    out = deid.deidentify(text).text
    assert all(k in out for k in kept) and not any(g in out for g in gone)


@pytest.mark.parametrize("text,phi", [
    ("Apellidos: Días Almeida.", "Almeida"),  # a surname that is also a word ("días") after the label
    ("Médico: Domingo Mederos Catalano.", "Mederos"),
    ("Remitido por: Dra. Eva Tizón Bouzo.", "Eva Tizón"),  # "Eva" is also the pain scale on the allow list
    ("Remitido por: Dr. A. Parente Hernández.", "Parente"),  # an initial first
    ("Apellidos: LLoret Quintero.", "LLoret"),  # a typed double capital
    ("Nombre: Julio.\nApellidos: Preciados.", "Julio"),  # a given name that is also a month
    ("Médico: Eduardo Torregrosa-de Juan.", "Juan"),  # a compound surname with a particle
])
def test_labelled_and_titled_names_are_removed_even_when_a_word_looks_clinical(deid: Deidentifier, text: str,
                                                                                phi: str) -> None:
    assert phi not in deid.deidentify(text, language="es").text


def test_clinical_words_after_labels_are_still_kept(deid: Deidentifier) -> None:
    text = "Paciente: Mujer de 80 años. Escala: EVA 7/10."
    assert deid.deidentify(text, language="es").text == text


@pytest.mark.parametrize("text,phi", [
    ("Médico: Marta Ortega MartínezNºCol: 06 06 85940.", "85940"),  # a label glued to the name before it
    ("CIPA: nhc/976421.", "976421"),
    ("NSS: 92-91-90-8443-1.", "8443"),
    ("Valencia 46010 FAX: + 34- 963864175", "963864175"),
])
def test_record_insurance_and_licence_numbers_in_form_variants(deid: Deidentifier, text: str, phi: str) -> None:
    assert phi not in deid.deidentify(text, language="es").text


# ---- language of short lines ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,placeholder", [
    ("Lives at 12 Oak Street.", "[ADDRESS]"),
    ("Pt: John Smith\nDOB: 03/04/1950", "[PERSON_"),
    ("Moved to 156 Kris Dam Suite 88 last spring.", "[ADDRESS]"),
    ("Domicilio: C/ Mayor 3, 2 A.", "[DIRECCION]"),
    ("Vive en Calle Mayor 3.", "[DIRECCION]"),
])
def test_short_lines_get_placeholders_in_their_own_language(deid: Deidentifier, text: str, placeholder: str) -> None:
    assert placeholder in deid.deidentify(text).text


def test_language_guess_ignores_foreign_letters_in_names() -> None:
    from casewise.lang import detect_language

    assert detect_language("What's the name on the account? Šárka Ottová") == "en"
    assert detect_language("Domicilio: Calle Trinidad, 39, 8 A.") == "es"
    assert detect_language("Seen on March 3, 2021.") == "en"


# ---- English: names, international addresses, postal codes, phones ------------------------------------------------
@pytest.mark.parametrize("text,phi", [
    ("My name is Edgar Pomeroy and my knee hurts.", "Pomeroy"),
    ("What's your last name? Magnusson", "Magnusson"),
    ("Her grandfather was called Djevad Sulic.", "Sulic"),
    ("I'm Naomi Ryan, the patient's daughter.", "Naomi Ryan"),
    ("She lives on Rua Mina 50 with her son.", "Rua Mina 50"),
    ("Home: 9721 Dalmatinova 43 Apt. 678, Velenje", "Dalmatinova"),
    ("My zip code is 76400", "76400"),
    ("ZIP: 394 13", "394 13"),
    ("Postal code B0J 2H0", "B0J 2H0"),
    ("Please call me at 0699 868 88 55 tomorrow.", "868 88 55"),
    ("Phone:\n0487 98 11 92", "98 11 92"),
])
def test_english_names_addresses_postcodes_and_phones_by_context(deid: Deidentifier, text: str, phi: str) -> None:
    assert phi not in deid.deidentify(text, language="en").text


def test_a_multi_line_international_address_is_removed_line_by_line(deid: Deidentifier) -> None:
    text = "Send the report to:\n864 Piazzetta Ruberti 104\n Apt. 905\n Serradarce\n Estonia 62488\n\nKnee OA, VAS 6."
    out = deid.deidentify(text, language="en").text
    assert not any(p in out for p in ("Piazzetta", "905", "Serradarce", "62488"))
    assert out.endswith("\n\nKnee OA, VAS 6.")  # the block ends at the blank line


def test_a_line_after_an_address_that_is_clinical_is_kept(deid: Deidentifier) -> None:
    out = deid.deidentify("Address: 12 Oak Street\nKnee Pain\nGonartrosis", language="en").text
    assert out == "Address: [ADDRESS]\nKnee Pain\nGonartrosis"



@pytest.mark.parametrize("text", ["78f. c/o R knee pain x 6 months.", "65m c/o L shoulder pain x 3 months, worse at night."])
def test_english_c_o_is_complains_of_not_a_spanish_street(deid: Deidentifier, text: str) -> None:
    assert deid.deidentify(text, language="en").text == text


def test_spanish_c_slash_street_is_still_removed(deid: Deidentifier) -> None:
    out = deid.deidentify("Domicilio en c/ olmo 5, Madrid. Gonalgia.", language="es").text
    assert "olmo" not in out and "Gonalgia" in out


def test_an_address_stops_at_the_next_label_when_header_lines_are_joined(deid: Deidentifier) -> None:
    """Unstructured joins a note's header lines into one element: the visit date and 'FU 6m' after the address must
    survive, or the follow-up is read as a first visit."""
    text = "NHC: 11209907 Pt: COOPER, Karen Address: Avenida de Europa 118, 28039 Madrid Date: 7 Apr 2023 FU 6m"
    out = deid.deidentify(text, language="en").text
    assert "Europa" not in out and "Madrid" not in out and "28039" not in out
    assert out.endswith("Date: [DATE] FU 6m"), out


@pytest.mark.parametrize("text", [
    "NHC: 11209907 Pt: COOPER, Karen Address: Avenida de Europa 118, 28039 Madrid Date: 7 Apr 2023 FU 6m\nPt with knee OA.",
    "Domicilio: C/ Olmo 5, Sevilla Fecha de nacimiento: 3/4/1950. Gonartrosis derecha, EVA 7.",
])
def test_de_identifying_de_identified_text_changes_nothing(deid: Deidentifier, text: str) -> None:
    """Stored text is checked again by the detectors (eval's leak check, extraction): placeholders are not PHI, and the
    clinical text after them must survive."""
    once = deid.deidentify(text).text
    assert deid.deidentify(once).text == once


_IN_A_FRESH_PROCESS = """
import json, sys
if sys.argv[1] == "torch-first":  # a process that already uses torch (an embedding export, a fine-tuning run)
    import torch
from casewise.settings import DeidSettings
from indexing.deid import Deidentifier
note = {note!r}
out = Deidentifier(DeidSettings()).deidentify(note).text
print(json.dumps({{"text": out, "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
"""


@pytest.mark.parametrize("start", ["fresh", "torch-first"])
def test_a_new_process_de_identifies_without_loading_torch_or_transformers(start: str) -> None:
    """`casewise index`, `similar` and `ask` start ~7 s sooner (bench.startup) because de-identification loads spaCy and
    Presidio without torch and transformers; names must still go, and a process that already holds torch too."""
    import json
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS.format(note=ES_NOTE), start],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    leaked = [p for p in ("María", "López", "12345678Z", "Carmen Ruiz") if p in out["text"]]
    assert not leaked, f"{len(leaked)} identifiers survived"
    assert "gonartrosis" in out["text"]
    if start == "fresh":
        assert not out["torch"] and not out["transformers"]
    else:
        assert out["torch"]


def test_hiding_torch_while_de_identification_loads_does_not_hide_it_from_other_threads() -> None:
    """The server may export an embedding model (which imports torch) on one thread while another first
    de-identifies: only the loading thread is refused the hidden packages."""
    import threading

    from indexing.deid.nlp_imports import _hidden

    name = "xdrlib_fake_for_casewise"  # any module name: the finder refuses before the file system is asked
    seen: dict[str, str] = {}

    def other_thread() -> None:
        try:
            __import__(name)
        except ModuleNotFoundError as exc:
            seen["other"] = str(exc)

    with _hidden((name,)):
        with pytest.raises(ModuleNotFoundError, match="not loaded for de-identification"):
            __import__(name)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert "not loaded for de-identification" not in seen.get("other", ""), "the other thread was not refused"
    assert "other" in seen, "the other thread looked the module up normally (and found none)"
