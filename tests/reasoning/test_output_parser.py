"""The reply parser: the user sees the final response, never the thinking, whatever shape the reply takes."""

from __future__ import annotations

import pytest

from reasoning.output import final_so_far, header_kind, parse_output

BOTH = """## Thinking

The PRP case improved from VAS 7 to 3; the hyaluronic acid case barely changed.

## Final Response

PRP was followed by the largest pain reduction [PT-3F9A0C12DE]."""


def test_both_sections_split_thinking_from_answer() -> None:
    p = parse_output(BOTH, "stop")
    assert p.thinking and p.thinking.startswith("The PRP case improved")
    assert p.final == "PRP was followed by the largest pain reduction [PT-3F9A0C12DE]."
    assert p.flags == []


def test_missing_thinking_header_keeps_preamble_as_thinking() -> None:
    p = parse_output("Let me compare the cases.\n\n## Final Response\nPRP helped [PT-3F9A0C12DE].", "stop")
    assert p.thinking == "Let me compare the cases."
    assert p.final == "PRP helped [PT-3F9A0C12DE]."
    assert "missing_thinking_header" in p.flags


def test_no_headers_at_all_is_shown_as_the_answer() -> None:
    p = parse_output("PRP helped [PT-3F9A0C12DE].", "stop")
    assert p.thinking is None
    assert p.final == "PRP helped [PT-3F9A0C12DE]."
    assert p.flags == ["missing_headers"]


def test_missing_final_response_header_never_shows_the_thinking() -> None:
    p = parse_output("## Thinking\nThe cases suggest PRP; I should answer now.", "stop")
    assert p.final == ""
    assert p.thinking == "The cases suggest PRP; I should answer now."
    assert "missing_final_response" in p.flags


def test_truncated_mid_thinking_gives_empty_final_and_flag() -> None:
    p = parse_output("## Thinking\nFirst, case PT-3F9A0C12DE had VAS 7 and then", "length")
    assert p.final == ""
    assert "truncated" in p.flags
    assert p.thinking and p.thinking.endswith("and then")


def test_truncated_inside_think_tags() -> None:
    p = parse_output("<think>Comparing PRP and hyaluronic", "length")
    assert p.final == "" and "truncated" in p.flags


def test_truncated_mid_final_keeps_partial_answer_and_flags() -> None:
    p = parse_output(BOTH[:-20], "length")
    assert p.final.startswith("PRP was followed")
    assert "truncated" in p.flags


@pytest.mark.parametrize(
    "header",
    ["## Final response", "**Final Response**", "**Final Response:**", "### FINAL RESPONSE", "Final Answer:",
     "## Respuesta final", "Respuesta final:", "**Respuesta final**", "## Respuesta"],
)
def test_final_header_variants(header: str) -> None:
    p = parse_output(f"## Thinking\nrazono\n{header}\nEl PRP mejoró el dolor [PT-3F9A0C12DE].", "stop")
    assert p.final == "El PRP mejoró el dolor [PT-3F9A0C12DE]."
    assert p.thinking == "razono"


def test_spanish_headers_and_inline_answer() -> None:
    p = parse_output("## Razonamiento\nComparo los casos.\nRespuesta final: El PRP redujo la EVA [PT-3F9A0C12DE].")
    assert p.thinking == "Comparo los casos."
    assert p.final == "El PRP redujo la EVA [PT-3F9A0C12DE]."


def test_extra_headings_inside_the_answer_are_kept() -> None:
    text = BOTH + "\n\n### Evidence limits\nOnly one case per treatment."
    p = parse_output(text, "stop")
    assert p.final.endswith("Only one case per treatment.")
    assert "### Evidence limits" in p.final


def test_repeated_sections_take_the_first_answer() -> None:
    p = parse_output("## Thinking\nA\n## Final Response\nB\n## Thinking\nC\n## Final Response\nD", "stop")
    assert p.final == "B" and "extra_sections" in p.flags


def test_clinical_words_are_not_mistaken_for_headers() -> None:
    text = "## Thinking\nx\n## Final Response\nRespuesta al tratamiento: buena.\nResponse to PRP was good."
    p = parse_output(text, "stop")
    assert p.final == "Respuesta al tratamiento: buena.\nResponse to PRP was good."
    assert header_kind("Respuesta: buena") is None
    assert header_kind("Thinking about the knee, PRP helped") is None


def test_empty_reply() -> None:
    p = parse_output("", "stop")
    assert p.final == "" and "empty_output" in p.flags


def test_stream_preview_hides_thinking_until_final_header() -> None:
    assert final_so_far("## Thinking\nThe PRP case") is None
    assert final_so_far("## Thi") is None
    assert final_so_far(BOTH[: BOTH.index("largest")]) == "PRP was followed by the"


def test_fence_markers_copied_from_the_prompt_are_removed() -> None:
    from reasoning.output import strip_echoed_fences

    text, echoed = strip_echoed_fences("<<<CASE PT-3F9A0C12DE>>>\nPRP helped [PT-3F9A0C12DE].\n<<<END CASE>>>")
    assert text == "PRP helped [PT-3F9A0C12DE]." and echoed
    assert strip_echoed_fences("VAS << 3 and >> 2") == ("VAS << 3 and >> 2", False)
