"""A treatment cell that holds only an abbreviation free text cannot trust ('PT') still names its treatment."""

from __future__ import annotations

from casewise.vocabulary import BUILTIN, load_vocabulary


def test_a_pt_cell_is_physical_therapy() -> None:
    assert BUILTIN.treatment_id("PT") == "physiotherapy"
    assert BUILTIN.treatment_id("pt.") == "physiotherapy"


def test_pt_in_free_text_is_not_a_treatment() -> None:
    # 'Pt reports ...' is the patient; the notes' extractor reads 'PT' from its context only
    assert BUILTIN.find_treatments("Pt reports less pain. PT INR normal.") == []
    assert BUILTIN.treatment_id("PT Smith") is None


def test_a_clinic_without_physiotherapy_gets_nothing_from_pt() -> None:
    from casewise.vocabulary import Vocabulary

    vocab = load_vocabulary(None)
    no_physio = Vocabulary(vocab.diagnoses, tuple(t for t in vocab.treatments if t.id != "physiotherapy"),
                           tuple(vocab.measures.values()))
    assert no_physio.treatment_id("PT") is None
