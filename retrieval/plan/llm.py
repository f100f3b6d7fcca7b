"""The LLM planner: the configured chat model reads the question into a JSON object constrained by a schema
(vLLM `json_schema`; llama.cpp `json_object` + schema), validated with pydantic and mapped onto the vocabulary.

Whatever the model says is checked: ids outside the vocabulary are dropped, and an unreachable server or invalid
output gives the rules planner's plan with `fallback` saying why. Identifier requests are always decided by the rules
as well (a model that misses one must not turn a refusal into an answer).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casewise.errors import LLMError
from casewise.json_chat import ChatModel, ResponseFormat, SchemaChat
from casewise.plan import INTENTS, Condition, Intent, PatientProfile, QuestionPlan
from casewise.types import Language
from casewise.vocabulary import BUILTIN, Vocabulary
from retrieval.plan.rules import RulesPlanner, adds_part

MAX_QUESTION_CHARS = 2000
SYSTEM = ("You read a clinician's question about a clinic's past cases into JSON. intent: one of "
          + ", ".join(INTENTS) + ". conditions and treatments: the names as written (Spanish or English). "
          "prior_treatments: given before or failed; exclusions: excluded, refused or contraindicated. measures: "
          "outcome scales (VAS/EVA, WOMAC, KOOS, ...). time_points: months after treatment (1 year = 12). "
          "identifier_request when the question asks for names, record numbers, phones, addresses or other "
          "identifiers of patients; too_vague when it names no condition and no treatment. Empty lists when absent.")


def _also(intent: Intent, rules: QuestionPlan) -> list[Intent]:
    """The further parts the rules read in a question of several parts, less the one the model chose."""
    if intent == "too_vague" or not rules.also:
        return []
    out: list[Intent] = []
    for a in [rules.intent, *rules.also]:
        if adds_part(intent, out, a):
            out.append(a)
    return out


class LLMPlan(BaseModel):
    """The JSON object the model must produce (every list required: small models answer '{}' to optional keys)."""

    model_config = ConfigDict(extra="forbid")
    intent: Literal["similar_cases", "what_worked", "compare", "count", "list", "regimen", "adverse_events",
                    "outcome_over_time", "identifier_request", "too_vague"]
    conditions: list[str] = Field(max_length=10)
    treatments: list[str] = Field(max_length=10)
    prior_treatments: list[str] = Field(max_length=10)
    exclusions: list[str] = Field(max_length=10)
    measures: list[str] = Field(max_length=10)
    time_points: list[float] = Field(max_length=10)
    sex: Literal["F", "M"] | None = None
    age_min: int | None = Field(None, ge=0, le=120)
    age_max: int | None = Field(None, ge=0, le=120)
    sessions: int | None = Field(None, ge=1, le=100)


class LLMPlanner:
    """Plans with the chat model; the rules planner is the fallback and the identifier guard."""

    name = "llm"

    def __init__(self, chat: ChatModel, vocab: Vocabulary = BUILTIN, *, max_tokens: int = 400,
                 response_format: ResponseFormat = "auto", general: Vocabulary | None = None) -> None:
        self.chat = chat
        self.vocab = vocab
        self.rules = RulesPlanner(vocab, general)
        self.json = SchemaChat(chat, LLMPlan.model_json_schema(), "question_plan", mode=response_format,
                               max_tokens=max_tokens)

    def _ask(self, question: str) -> Any:
        return self.json.complete([{"role": "system", "content": SYSTEM},
                                   {"role": "user", "content": question[:MAX_QUESTION_CHARS]}])

    def plan(self, question: str, *, language: Language | None = None) -> QuestionPlan:
        rules = self.rules.plan(question, language=language)
        if rules.intent == "identifier_request":
            return rules
        try:
            reply = self._ask(question)
        except LLMError as exc:
            return rules.model_copy(update={"fallback": f"llm unavailable: {type(exc).__name__}"})
        raw = getattr(reply, "text", reply)
        try:
            parsed = LLMPlan.model_validate(json.loads(raw))
        except json.JSONDecodeError:
            return rules.model_copy(update={"fallback": "llm output invalid: not JSON"})
        except ValidationError as exc:
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in exc.errors()[:3])
            return rules.model_copy(update={"fallback": f"llm output invalid: {where}"})
        return self._normalize(parsed, rules)

    def _ids(self, names: list[str], kind: str) -> list[str]:
        find = self.vocab.diagnosis_id if kind == "diagnosis" else self.vocab.treatment_id
        return list(dict.fromkeys(i for n in names if (i := find(n))))

    def _normalize(self, p: LLMPlan, rules: QuestionPlan) -> QuestionPlan:
        """The model's names mapped onto the vocabulary; what maps to nothing is dropped, never invented."""
        conditions = [Condition(id=d, icd10=self.vocab.icd10_of(d)) for d in self._ids(p.conditions, "diagnosis")]
        measures = list(dict.fromkeys(m for n in p.measures if (m := self.vocab.measure_id(n))))
        intent: Intent = p.intent
        if intent == "too_vague" and (conditions or rules.conditions or rules.treatments):
            intent = rules.intent
        profile = rules.profile.model_copy(update={
            "sex": p.sex or rules.profile.sex, "age_min": p.age_min if p.age_min is not None else rules.profile.age_min,
            "age_max": p.age_max if p.age_max is not None else rules.profile.age_max})
        return QuestionPlan(
            question=rules.question, language=rules.language, intent=intent, profile=PatientProfile.model_validate(
                profile.model_dump()), conditions=conditions or rules.conditions,
            unknown_conditions=[] if conditions else rules.unknown_conditions,
            treatments=self._ids(p.treatments, "treatment"), unknown_treatments=rules.unknown_treatments,
            prior_treatments=self._ids(p.prior_treatments, "treatment"), exclusions=self._ids(p.exclusions, "treatment"),
            measures=measures, unrecorded_measures=rules.unrecorded_measures,
            time_points=sorted({float(t) for t in p.time_points if 0 < t <= 120}), sessions=p.sessions,
            missing=rules.missing if intent == "too_vague" else [], planner=self.name,
            also=_also(intent, rules))
