"""From free-text notes to structured records: diagnoses, treatments, outcomes, adverse events (ES/EN).

Two extractors behind one interface (`Extractor`): rules and lexicons (`RulesExtractor`, fast, offline) and an LLM
constrained by a JSON schema (`LLMExtractor`) that falls back to the rules on invalid output and says so.
`make_extractor(settings)` picks one from `extract.backend`.
"""

from indexing.extraction.interface import Extractor, make_extractor
from indexing.extraction.schema import NoteExtraction

__all__ = ["Extractor", "NoteExtraction", "make_extractor"]
