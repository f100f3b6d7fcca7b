"""The LLM extractor: an OpenAI-compatible server constrained by a JSON schema, checked by pydantic, rules as fallback.

Constrained decoding differs by server (vLLM takes json_schema, llama.cpp a schema on json_object):
`casewise.json_chat.SchemaChat` picks the dialect, switching for good when the server refuses the first.
Whatever comes back is validated against `LLMNote`; invalid output (or an unreachable server) gives the rules'
result with `fallback` saying why, so a reviewer can count how often the model was not used.

The server is reached through `casewise.llm.OpenAICompatibleLLM`, the one client with balancing and failover over
`llm.base_urls`, so extraction uses every vLLM replica as answering does. It is imported inside `openai_chat` only:
that module needs nothing but the kernel (`casewise.settings`, `casewise.errors`), and indexing loads it only when
`extract.backend=llm`. Any other object with `ChatModel`'s method can be passed to `make_extractor(chat=...)`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError

from casewise import extract
from casewise.errors import LLMError
from casewise.json_chat import ChatModel, ResponseFormat, SchemaChat
from casewise.lang import detect_language
from casewise.settings import LLMSettings
from casewise.types import Language
from casewise.vocabulary import BUILTIN, Vocabulary, fold
from indexing.extraction.normalize import DateOrder, normalize_dose, normalize_side, parse_date
from indexing.extraction.rules import RulesExtractor
from indexing.extraction.schema import (
    AdverseEventItem,
    DiagnosisItem,
    LLMNote,
    NoteExtraction,
    OutcomeItem,
    TreatmentItem,
)

log = logging.getLogger(__name__)
NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)?")
SCORE_WINDOW = 40  # characters after a measure's name in which its score is written
MAX_NOTE_CHARS = 6000  # a note longer than this is cut: the prompt must fit small models' 4k-token context

SYSTEM = (
    "You extract structured data from one de-identified clinical note (Spanish or English) of a regenerative-"
    "medicine clinic. Answer with one JSON object only. diagnoses: the diagnoses of this patient (ICD-10 code if "
    "written). treatments: treatments and procedures given or planned (name, dose with unit, number of sessions, "
    "date as written, side). outcomes: every score written: measure is VAS (EVA), WOMAC, KOOS, LEQUESNE, ROM (range "
    "of motion, degrees) or RTA (return to activity, 1 = returned); months = months after the treatment, 0 for a "
    "baseline or first visit. adverse_events: complications after a treatment. follow_up_dates: dates of planned "
    "visits. Leave a list empty when the note says nothing of it; never invent values."
)
ADVERSE_NAMES = {"flare": "post_injection_flare", "dolor post": "post_injection_flare", "derrame": "effusion",
                 "effusion": "effusion", "infec": "infection", "hematoma": "hematoma", "vasovagal": "vasovagal"}


def openai_chat(settings: LLMSettings) -> ChatModel:
    """The OpenAI-compatible client over every server in `llm.base_urls` (round-robin, failover, retries)."""
    from casewise.llm import OpenAICompatibleLLM

    return OpenAICompatibleLLM(settings)


def note_schema() -> dict[str, Any]:
    """The JSON schema the model is constrained to (pydantic's, with list lengths capped so output ends)."""
    return LLMNote.model_json_schema()


class LLMExtractor:
    """Schema-constrained LLM extraction, validated; the rules' result (flagged) when the output is unusable."""

    name = "llm"

    def __init__(self, chat: ChatModel, fallback: RulesExtractor, *, vocabulary: Vocabulary | None = None,
                 response_format: ResponseFormat = "auto", max_tokens: int = 1024, date_order: DateOrder = "auto") -> None:
        self.chat = chat
        self.rules = fallback
        self.vocab = vocabulary or BUILTIN
        self.json = SchemaChat(chat, note_schema(), "note_extraction", mode=response_format, max_tokens=max_tokens)
        self.date_order = date_order

    @property
    def mode(self) -> ResponseFormat:
        """The response_format dialect in use ("json_object" once a server refused json_schema)."""
        return self.json.mode

    @property
    def max_tokens(self) -> int:
        return self.json.max_tokens

    def _ask(self, note: str) -> Any:
        return self.json.complete([{"role": "system", "content": SYSTEM},
                                   {"role": "user", "content": note[:MAX_NOTE_CHARS]}])

    def extract(self, text: str, *, language: Language | None = None) -> NoteExtraction:
        try:
            reply = self._ask(text)
        except LLMError as exc:
            return self._fallback(text, language, f"llm unavailable: {exc}")
        raw = getattr(reply, "text", reply)
        try:
            parsed = LLMNote.model_validate(json.loads(raw))
        except json.JSONDecodeError:
            cut = getattr(reply, "finish_reason", None) == "length"
            return self._fallback(text, language, "llm output invalid: not JSON" + (
                f" (cut at extract.max_tokens={self.max_tokens})" if cut else ""))
        except ValidationError as exc:
            # Field paths and error types only: the values may be patient text.
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in exc.errors()[:3])
            return self._fallback(text, language, f"llm output invalid: {where}")
        return self._normalize(parsed, text, language)

    def _fallback(self, text: str, language: Language | None, reason: str) -> NoteExtraction:
        log.warning("extraction fell back to rules: %s", reason.split(":")[0])
        result = self.rules.extract(text, language=language)
        result.fallback = reason
        return result

    def _normalize(self, n: LLMNote, text: str, language: Language | None) -> NoteExtraction:
        """Map the model's free labels onto the vocabulary; what maps to nothing is dropped (not invented)."""
        diags: dict[str, DiagnosisItem] = {}
        for d in n.diagnoses:
            did = self.vocab.diagnosis_id(d.name) or (self.vocab.diagnosis_from_icd10(d.icd10) if d.icd10 else None)
            if did and did not in diags:
                diags[did] = DiagnosisItem(name=did, label=d.name[:80], icd10=d.icd10 or self.vocab.icd10_of(did),
                                           side=normalize_side(d.side), severity=d.severity)
        treats: dict[str, TreatmentItem] = {}
        for t in n.treatments:
            tid = self.vocab.treatment_id(t.name)
            if tid and tid not in treats:
                dose, volume = normalize_dose(t.dose or "")
                treats[tid] = TreatmentItem(name=tid, label=t.name[:80], category=self.vocab.category_of(tid),
                                            dose=dose or (t.dose[:40] if t.dose else None), volume_ml=volume,
                                            sessions=t.sessions, side=normalize_side(t.side),
                                            date=parse_date(t.date, self.date_order) if t.date else None)
        outcomes: list[OutcomeItem] = []
        written = _scores(text, self.vocab)
        for o in n.outcomes:
            if o.value not in written.get(o.measure, ()):  # a score the note never writes is the model's
                continue
            tid = self.vocab.treatment_id(o.treatment) if o.treatment else None
            meta = self.vocab.measure(o.measure)
            plausible = meta is None or meta.low <= o.value <= meta.high
            outcomes.append(OutcomeItem(measure=o.measure, value=o.value, months=o.months, treatment=tid,
                                        plausible=plausible))
        events: list[AdverseEventItem] = []
        for a in n.adverse_events:
            key = next((v for k, v in ADVERSE_NAMES.items() if k in a.lower()), None)
            if key and all(e.name != key for e in events):
                events.append(AdverseEventItem(name=key))
        follow = [d for d in (parse_date(x, self.date_order) for x in n.follow_up_dates) if d]
        return NoteExtraction(
            language=language or detect_language(text), sex=extract.sex(text),  # type: ignore[arg-type]
            age=extract.age(text), time_point_months=extract.note_time_point(text),
            diagnoses=list(diags.values()), treatments=list(treats.values()), outcomes=outcomes,
            adverse_events=events, follow_up_dates=sorted(set(follow)), backend="llm")


def _scores(text: str, vocab: Vocabulary) -> dict[str, set[float]]:
    """Per measure, the numbers the note writes shortly after naming it ('EVA 7/10' -> VAS {7, 10}; 'WOMAC de 48,5'
    -> WOMAC {48.5}): the window ends at the end of the sentence or after SCORE_WINDOW characters."""
    folded = fold(text[:MAX_NOTE_CHARS])
    out: dict[str, set[float]] = {}
    for mid, meta in vocab.measures.items():
        for syn in meta.synonyms:
            for m in re.finditer(rf"\b{re.escape(syn)}\b", folded):
                window = re.split(r"[.;]\s|\n", folded[m.end():m.end() + SCORE_WINDOW])[0]
                out.setdefault(mid, set()).update(float(n.group().replace(",", ".")) for n in NUMBER.finditer(window))
    return out
