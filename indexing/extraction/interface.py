"""One interface for every extractor, the factory that builds one from Settings, and the hand-over to case assembly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from casewise.errors import ConfigError
from casewise.types import AdverseEventLink, Diagnosis, Language, Outcome, Treatment
from casewise.vocabulary import load_vocabulary
from indexing.assemble import CaseFacts
from indexing.extraction.schema import NoteExtraction

if TYPE_CHECKING:
    from casewise.json_chat import ChatModel
    from casewise.settings import Settings

BACKENDS = ("rules", "llm")


class Extractor(Protocol):
    """Reads one de-identified note and returns its facts in canonical form."""

    name: str

    def extract(self, text: str, *, language: Language | None = None) -> NoteExtraction: ...


def make_extractor(settings: Settings, *, chat: ChatModel | None = None) -> Extractor:
    """The extractor named by `extract.backend`, with the clinic's vocabulary file merged over the built-in one.

    `chat` replaces the OpenAI-compatible client the LLM backend would build from `llm.*` (any object with the
    `complete(messages, max_tokens=, temperature=, response_format=)` method of `casewise.llm`'s backends).
    """
    from indexing.extraction.rules import RulesExtractor

    cfg = settings.extract
    vocab = load_vocabulary(cfg.vocabulary_file)
    rules = RulesExtractor(vocab, date_order=cfg.date_order)
    if cfg.backend == "rules":
        return rules
    if cfg.backend == "llm":
        from indexing.extraction.llm import LLMExtractor, openai_chat

        if chat is None:
            if settings.llm.backend != "openai" or not settings.llm.base_url:
                raise ConfigError("extract.backend=llm needs an OpenAI-compatible server: set llm.backend=openai and "
                                  "llm.base_url (vLLM or llama.cpp's server)")
            chat = openai_chat(settings.llm)
        return LLMExtractor(chat, rules, vocabulary=vocab, response_format=cfg.response_format,
                            max_tokens=cfg.max_tokens, date_order=cfg.date_order)
    raise ConfigError(f"extract.backend: unknown backend {cfg.backend!r}; valid: {', '.join(BACKENDS)}")


def facts_from(note: NoteExtraction) -> CaseFacts:
    """What case assembly keeps of a note: canonical facts, without spans, and without implausible scores."""
    return CaseFacts(
        sex=note.sex, age=note.age, language=note.language,
        diagnoses=[Diagnosis.model_validate(d.model_dump(include=set(Diagnosis.model_fields))) for d in note.diagnoses],
        treatments=[Treatment.model_validate(t.model_dump(include=set(Treatment.model_fields))) for t in note.treatments],
        outcomes=[Outcome.model_validate(o.model_dump(include=set(Outcome.model_fields)))
                  for o in note.outcomes if o.plausible],
        adverse_events=sorted({a.name for a in note.adverse_events}),
        # dated by the note (the first date it writes, its visit's), so assembly can tie an event the note does not
        # tie to the treatment given before that visit
        adverse_event_links=[AdverseEventLink(name=a.name, treatment=a.treatment,
                                              date=note.dates[0] if note.dates else None)
                             for a in note.adverse_events],
    )
