"""Citation check: only retrieved cases may be cited, uncited facts are flagged, cited claims are scored."""

from __future__ import annotations

from casewise.embedding import Embedder
from casewise.types import Evidence
from reasoning.citations import (
    check_citations,
    is_factual,
    number_coverage,
    remove_invalid_citations,
    split_sentences,
    stream_safe_prefix,
)
from reasoning.prompts import case_texts
from tests.reasoning.reasoning_testdata import CS_ID, HA_ID, PRP_ID

FAKE = "PT-FAKE000000"


def test_fabricated_id_is_removed_from_text_and_flagged(evidence: Evidence) -> None:
    final = f"PRP reduced VAS from 7 to 3 at 6 months [{PRP_ID}, {FAKE}]. Hyaluronic acid changed little [{FAKE}]."
    check = check_citations(final, case_texts(evidence), None)
    assert FAKE not in check.text
    assert f"[{PRP_ID}]" in check.text
    assert check.text.endswith("Hyaluronic acid changed little.")
    assert "fabricated_citation_removed" in check.flags
    assert {c.case_id for c in check.citations if c.valid} == {PRP_ID}
    assert [c.case_id for c in check.citations if not c.valid] == [FAKE]


def test_fabricated_id_in_prose_and_numbered_refs_are_removed(evidence: Evidence) -> None:
    text, removed = remove_invalid_citations(f"As case {FAKE} shows, PRP works [case 4]. (caso PT-0000AAAA99)", [PRP_ID], "es")
    assert FAKE not in text and "PT-0000AAAA99" not in text and "[case 4]" not in text
    assert "[cita eliminada]" in text
    assert len(removed) == 3


def test_valid_ids_kept_and_normalised(evidence: Evidence) -> None:
    final = f"PRP reduced VAS from 7 to 3 (case {PRP_ID.lower()}). Steroid relief faded by 3 months [{CS_ID}; {HA_ID}]."
    check = check_citations(final, case_texts(evidence), None)
    assert f"[{PRP_ID}]" in check.text and f"[{CS_ID}, {HA_ID}]" in check.text
    assert check.flags == [] or "fabricated_citation_removed" not in check.flags
    assert [c.case_ids for c in check.claims] == [[PRP_ID], [CS_ID, HA_ID]]


def test_mixed_parenthesis_keeps_its_other_text() -> None:
    text, removed = remove_invalid_citations(f"VAS fell (7 to 3, {FAKE}).", [PRP_ID])
    assert text == "VAS fell (7 to 3)." and removed == [FAKE]


def test_uncited_factual_sentence_is_flagged(evidence: Evidence) -> None:
    final = (f"PRP reduced VAS from 7 to 3 at 6 months [{PRP_ID}]. Most patients improve with stem cells. "
             "This summarises past cases and does not replace clinical judgement.")
    check = check_citations(final, case_texts(evidence), None)
    uncited = [c for c in check.claims if not c.case_ids]
    assert [c.text for c in uncited] == ["Most patients improve with stem cells."]
    assert uncited[0].supported is False
    assert "uncited_claims" in check.flags and "unsupported_claims" in check.flags


def test_notice_and_evidence_caveats_need_no_citation() -> None:
    assert not is_factual("This summarises past cases and does not replace clinical judgement.")
    assert not is_factual("La evidencia es limitada.")
    assert is_factual("El PRP redujo el dolor en la paciente.")
    assert is_factual("VAS fell by 4 points.")


def test_supported_and_unsupported_claims_scored_against_case_text(evidence: Evidence, embedder: Embedder) -> None:
    final = (
        f"Three PRP injections were followed by VAS falling from 7 to 3 at 6 months [{PRP_ID}].\n"
        f"After hyaluronic acid there was little change and the patient was referred to surgery [{HA_ID}].\n"
        f"Stem cell therapy regrew the cartilage within two weeks [{HA_ID}].\n"
        f"The patient is cured [{CS_ID}]."
    )
    check = check_citations(final, case_texts(evidence), embedder)
    by_text = {c.text.split(" [")[0]: c for c in check.claims}
    good_prp = by_text["Three PRP injections were followed by VAS falling from 7 to 3 at 6 months"]
    good_ha = by_text["After hyaluronic acid there was little change and the patient was referred to surgery"]
    bad_stem = by_text["Stem cell therapy regrew the cartilage within two weeks"]
    cured = by_text["The patient is cured"]
    assert good_prp.supported and good_ha.supported
    assert bad_stem.supported is False and cured.supported is False
    assert good_prp.support is not None and bad_stem.support is not None
    assert good_prp.support > bad_stem.support + 0.2
    assert {"low_support", "absolute_claim", "unsupported_claims"} <= set(check.flags)


def test_spanish_claim_scored_against_spanish_notes(embedder: Embedder) -> None:
    texts = {PRP_ID: "diagnósticos: artrosis de rodilla\ntratamientos: plasma rico en plaquetas x2\n"
                     "resultados: EVA 6@0 → 2@6m\nnotas: La paciente refiere clara mejoría del dolor tras dos infiltraciones de PRP."}
    check = check_citations(
        f"Tras dos infiltraciones de PRP la EVA bajó de 6 a 2 [{PRP_ID}]. La paciente está curada [{PRP_ID}].",
        texts, embedder, language="es",
    )
    assert check.claims[0].supported is True
    assert check.claims[1].supported is False


def test_invented_numbers_lower_support() -> None:
    source = "VAS 7@0 → 3@6mo"
    assert number_coverage("VAS fell from 7 to 3", source) == 1.0
    assert number_coverage("VAS fell by 4 points", source) == 1.0  # a difference of recorded values
    assert number_coverage("VAS fell from 9 to 2", source) == 0.0


def test_nothing_valid_cited_is_flagged(evidence: Evidence) -> None:
    check = check_citations("PRP is the best option for knee pain.", case_texts(evidence), None)
    assert "no_valid_citations" in check.flags


def test_citation_after_full_stop_joins_its_sentence() -> None:
    assert split_sentences(f"VAS fell from 7 to 3. [{PRP_ID}] Then it rose.") == [f"VAS fell from 7 to 3. [{PRP_ID}]", "Then it rose."]


def test_stream_prefix_holds_back_open_brackets_and_partial_ids() -> None:
    assert stream_safe_prefix("PRP helped [PT-3F9A") == "PRP helped"
    assert stream_safe_prefix("As seen in PT-3F") == "As seen in"
    assert stream_safe_prefix(f"PRP helped [{PRP_ID}] and") == f"PRP helped [{PRP_ID}] and"


def test_judge_that_cannot_be_reached_leaves_the_check_usable(evidence: Evidence) -> None:
    from casewise.llm import make_llm
    from casewise.settings import LLMSettings
    from tests.reasoning.reasoning_testdata import closed_port_url

    judge = make_llm(LLMSettings(backend="openai", base_url=closed_port_url(), max_retries=0))
    check = check_citations(f"PRP reduced VAS from 7 to 3 [{PRP_ID}].", case_texts(evidence), None, judge=judge)
    assert "judge_unavailable" in check.flags
    assert check.claims[0].supported is True


def test_real_judge_model_gives_a_verdict(evidence: Evidence, server_settings: object) -> None:
    from casewise.llm import make_llm
    from casewise.settings import LLMSettings

    assert isinstance(server_settings, LLMSettings)
    judge = make_llm(server_settings)
    assert judge is not None
    check = check_citations(f"PRP reduced VAS from 7 to 3 [{PRP_ID}].", case_texts(evidence), None, judge=judge)
    assert check.claims[0].supported in (True, False)
    assert "judge_unavailable" not in check.flags
