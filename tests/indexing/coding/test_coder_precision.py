"""The bundled coder on a regenerative-medicine clinic's notes (invented here): codes whose evidence the note does
not hold are never predicted: a de-identification placeholder is not a word, a knee's effusion is not pleural, an
MRI of a tendon is not one of the brain, a side and a site alone are no diagnosis; codes are real ones."""

from __future__ import annotations

from casewise.terminology import DIAGNOSIS_CODE, PROCEDURE_CODE, english_labels, spanish_labels
from indexing.coding.coder import LexiconCoder
from indexing.coding.sites import sites_in, sites_of_labels, where_only
from indexing.coding.text import TypoIndex, normalize, one_edit, tokenize
from tests.indexing.coding.conftest import codes

KNEE_ES = ("Motivo de consulta: gonalgia izquierda de 5 meses.\nExploración: rodilla derecha con derrame articular "
           "leve, sin bloqueo.\nPlan: infiltración de PRP guiada por ecografía.")
KNEE_EN = ("Clinic letter\nPatient: [PERSON_7A1C]\nSeen today for right knee osteoarthritis. Moderate effusion, "
           "crepitus on flexion. MRI: degenerative meniscal tear, no fracture.\nPlan: hyaluronic acid injection.\n"
           "Regards,\nDr. [PERSON_44B0]")


def test_a_joint_effusion_of_the_knee_is_not_pleural(coder: LexiconCoder) -> None:
    for text, lang in ((KNEE_ES, "es"), (KNEE_EN, "en")):
        assert not {c for c in codes(coder, text, lang) if c.startswith("j9")}, lang


def test_a_pleural_effusion_is_still_coded(coder: LexiconCoder) -> None:
    text = "Radiografía de tórax: derrame pleural derecho moderado. Se realiza toracocentesis."
    assert "j90" in codes(coder, text, "es")
    assert "j90" in codes(coder, "Chest X-ray: moderate effusion on the right.", "en")


def test_a_placeholder_of_deidentification_is_no_word_of_the_note(coder: LexiconCoder) -> None:
    assert "z65.1" not in codes(coder, KNEE_EN, "en")
    assert [t.norm for t in tokenize("Patient: [PERSON_3E3A], [NOMBRE_2] (hijo), [FECHA]")] == ["patient", "hijo"]


def test_imprisonment_only_from_prison_wording(coder: LexiconCoder) -> None:
    text = "Person referred from primary care for left hip pain. The person lives alone."
    assert not {c for c in codes(coder, text, "en") if c.startswith("z65")}


def test_an_mri_of_a_tendon_is_not_an_mri_of_the_brain(coder: LexiconCoder) -> None:
    es = "Epicondilitis lateral del codo derecho. RMN: tendinosis del tendón extensor común, sin rotura."
    en = "Lateral epicondylitis, right elbow. MRI: common extensor tendinosis without tear."
    assert not {c for c in codes(coder, es, "es") | codes(coder, en, "en") if c.startswith("b03")}


def test_a_known_word_is_not_corrected_into_another(coder: LexiconCoder) -> None:
    text = "Achilles tendinopathy of the left ankle, 8 months. Painful reaction after the first injection."
    got = codes(coder, text, "en") | codes(coder, "Tendinopatía aquílea. Reacción dolorosa tras la infiltración.", "es")
    assert not {c for c in got if c.startswith(("r68", "n48", "m89", "s93"))}


def test_comorbidities_written_in_the_note_are_still_coded(coder: LexiconCoder) -> None:
    es = "Antecedentes: HTA, DM2, hipotiroidismo, obesidad. Alergia a penicilina. Gonartrosis derecha."
    got = codes(coder, es, "es")
    assert {"i10", "e11.9", "e03.9", "e66.9", "z88.0"} <= got
    assert "j90" not in got and "z65.1" not in got


def test_predicted_codes_are_well_formed_codes_of_the_terminology(coder: LexiconCoder) -> None:
    known = set(spanish_labels()) | set(english_labels())
    for text, lang in ((KNEE_ES, "es"), (KNEE_EN, "en")):
        for c in coder.code(text, language=lang):  # type: ignore[arg-type]
            if c.kind == "diagnosis":
                assert DIAGNOSIS_CODE.match(c.code) and (c.code in known or c.code.rstrip("x").rstrip(".") in known)
            else:
                assert PROCEDURE_CODE.match(c.code)


def test_one_edit_means_one_edit() -> None:
    assert one_edit("rodilla", "rodila") and one_edit("rodilla", "rodlila") and one_edit("dolor", "doolor")
    assert not one_edit("prison", "person") and not one_edit("ereccion", "reaccion")
    typos = TypoIndex({"prison", "tendinitis"}, known=frozenset({"achill"}))
    assert typos.correct("person") == "person" and typos.correct("tendinits") == "tendinitis"


def test_sites() -> None:
    assert sites_of_labels(["Pleural effusion, not elsewhere classified"]) == {"pleura"}
    assert sites_of_labels(["Derrame articular, rodilla derecha"]) == {"knee"}
    assert sites_in(normalize("derrame en ambas rodillas")) == {"knee"}
    assert where_only(normalize("tobillo izquierdo")) and not where_only(normalize("esguince de tobillo"))
