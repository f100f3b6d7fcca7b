"""The Extractor contract, run against both extractors, each built by `make_extractor` from Settings:
`RulesExtractor` (lexicons and patterns) and `LLMExtractor` against a real llama.cpp server with SmolLM2-135M,
constrained by the note's JSON schema (llama.cpp's `json_object` + schema dialect; the `auto` switch from OpenAI's
`json_schema` is tested in tests/indexing/test_extraction_llm.py).

A 135M model often writes schema-valid nonsense or runs out of tokens, so every test asserts what case assembly and
a reviewer rely on either way, never the model's wording: facts named by the vocabulary, a result that says which
backend produced it (and why the rules stood in), the language kept, spans inside the note, implausible scores
flagged, and the rules' facts whenever the rules answered.
"""

from __future__ import annotations

import typing
from collections.abc import Callable

import pytest

from casewise.llm import make_llm
from casewise.settings import LLMSettings, load_settings
from casewise.vocabulary import BUILTIN
from indexing.extraction import Extractor, NoteExtraction, make_extractor
from indexing.extraction.llm import LLMExtractor
from indexing.extraction.rules import RulesExtractor
from indexing.extraction.schema import LLMOutcome
from tests.contracts.base import Contract

# language -> (note, the rules' facts: diagnosis, treatment, (measure, value) pairs)
NOTES = {
    "es": (("Primera visita. Mujer de 58 años, gonartrosis izquierda KL 2. EVA 7/10, WOMAC 48. "
            "Se infiltra PRP, 3 infiltraciones, 4 ml. Revisión en 3 meses."),
           "knee_oa", "prp", [("VAS", 7.0), ("WOMAC", 48.0)]),
    "en": (("First visit. 62-year-old man with right knee osteoarthritis, KL 3. VAS 8/10, WOMAC 55. "
            "Hyaluronic acid injection 2 ml given today. Follow-up in 3 months."),
           "knee_oa", "hyaluronic_acid", [("VAS", 8.0), ("WOMAC", 55.0)]),
}
MEASURES = set(typing.get_args(LLMOutcome.model_fields["measure"].annotation))
LLM_MAX_TOKENS = 384  # room for the schema's JSON from a small model; less is mostly cut and falls back
MakeExtractor = Callable[[], Extractor]


class ExtractorContract(Contract):
    """What every Extractor does. A subclass provides `make`."""

    protocol = Extractor

    @pytest.fixture(scope="class")
    def subject(self, make: MakeExtractor) -> Extractor:
        return make()

    @pytest.fixture(scope="class")
    def extracted(self, subject: Extractor) -> dict[str, NoteExtraction]:
        """Each note read once (a model call is seconds here); the tests look at the results."""
        return {lang: subject.extract(note, language=lang) for lang, (note, *_) in NOTES.items()}  # type: ignore[arg-type]

    def test_returns_a_note_extraction_in_the_language_given(self, extracted: dict[str, NoteExtraction]) -> None:
        for lang, note in extracted.items():
            assert isinstance(note, NoteExtraction) and note.language == lang

    def test_the_result_says_which_backend_produced_it_and_why_the_rules_stood_in(
            self, subject: Extractor, extracted: dict[str, NoteExtraction]) -> None:
        for note in extracted.values():
            if note.backend == subject.name:
                assert note.fallback is None
            else:  # only the rules stand in, and the reason is kept for the data-quality review
                assert note.backend == "rules" and note.fallback, (note.backend, note.fallback)

    def test_every_fact_is_named_by_the_vocabulary(self, extracted: dict[str, NoteExtraction]) -> None:
        diagnoses, treatments = {t.id for t in BUILTIN.diagnoses}, {t.id for t in BUILTIN.treatments}
        for note in extracted.values():
            assert {d.name for d in note.diagnoses} <= diagnoses
            assert {t.name for t in note.treatments} <= treatments
            assert {o.measure for o in note.outcomes} <= MEASURES
            assert {o.treatment for o in note.outcomes if o.treatment} <= treatments

    def test_scores_outside_their_scale_are_flagged_implausible(self, extracted: dict[str, NoteExtraction]) -> None:
        for note in extracted.values():
            for o in note.outcomes:
                meta = BUILTIN.measure(o.measure)
                if o.plausible and meta is not None:
                    assert meta.low <= o.value <= meta.high, o

    def test_spans_point_into_the_note(self, extracted: dict[str, NoteExtraction]) -> None:
        for lang, note in extracted.items():
            text = NOTES[lang][0]
            spans = [i.span for i in note.diagnoses] + [i.span for i in note.treatments] + [
                i.span for i in note.outcomes] + [i.span for i in note.adverse_events]
            for span in spans:
                if span is not None:
                    assert 0 <= span[0] < span[1] <= len(text)
            labelled = [(d.span, d.label) for d in note.diagnoses] + [(t.span, t.label) for t in note.treatments]
            for span, label in labelled:
                if span is not None and label:
                    assert text[span[0]:span[1]].lower() == label.lower(), (span, label)

    def test_when_the_rules_answer_they_find_the_notes_facts(self, extracted: dict[str, NoteExtraction]) -> None:
        for lang, note in extracted.items():
            if note.backend != "rules":
                continue  # a schema-valid model answer: checked above for names, not for wording
            _, diagnosis, treatment, scores = NOTES[lang]
            assert [d.name for d in note.diagnoses] == [diagnosis]
            assert [t.name for t in note.treatments] == [treatment]
            assert [(o.measure, o.value) for o in note.outcomes] == scores


class TestRulesExtractor(ExtractorContract):
    @pytest.fixture(scope="class")
    def make(self, tmp_path_factory: pytest.TempPathFactory) -> MakeExtractor:
        settings = load_settings(data_dir=tmp_path_factory.mktemp("rules"), extract={"backend": "rules"})

        def make() -> Extractor:
            extractor = make_extractor(settings)
            assert isinstance(extractor, RulesExtractor)
            return extractor

        return make


class TestLLMExtractor(ExtractorContract):
    @pytest.fixture(scope="class")
    def make(self, server_settings: LLMSettings, tmp_path_factory: pytest.TempPathFactory) -> MakeExtractor:
        settings = load_settings(data_dir=tmp_path_factory.mktemp("llm"), extract={
            "backend": "llm", "response_format": "json_object", "max_tokens": LLM_MAX_TOKENS})

        def make() -> Extractor:
            extractor = make_extractor(settings, chat=make_llm(server_settings.model_copy(update={"timeout_s": 120})))
            assert isinstance(extractor, LLMExtractor)
            return extractor

        return make
