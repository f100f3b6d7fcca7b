"""The LLM planner: the model's JSON mapped onto the vocabulary (unknown names dropped), llama.cpp's json_object
fallback, and the rules' plan with the reason when the server fails or answers something that is not the schema."""

from __future__ import annotations

import json
from typing import Any

from casewise.errors import LLMError
from retrieval.plan.llm import LLMPlanner


class _Chat:
    model = "stub"

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies
        self.formats: list[str] = []

    def complete(self, messages: Any, *, max_tokens: int, temperature: float,
                 response_format: dict[str, Any] | None = None) -> Any:
        self.formats.append((response_format or {}).get("type", ""))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return type("R", (), {"text": reply})()


PLAN = {"intent": "compare", "conditions": ["artrosis de rodilla"], "treatments": ["PRP", "ácido hialurónico", "unicorn"],
        "prior_treatments": [], "exclusions": ["corticoides"], "measures": ["EVA"], "time_points": [3, 6],
        "sex": "F", "age_min": 60, "age_max": None, "sessions": None}


def test_model_plan_is_mapped_onto_the_vocabulary() -> None:
    chat = _Chat([json.dumps(PLAN)])
    plan = LLMPlanner(chat).plan("PRP o AH en gonartrosis de mujeres de 60 o más, sin corticoides: EVA a 3 y 6 meses")
    assert plan.planner == "llm" and plan.fallback is None and chat.formats == ["json_schema"]
    assert plan.intent == "compare" and plan.condition_ids == ["knee_oa"]
    assert plan.treatments == ["prp", "hyaluronic_acid"] and plan.exclusions == ["corticosteroid"]  # 'unicorn' dropped
    assert plan.measures == ["VAS"] and plan.time_points == [3.0, 6.0] and plan.profile.age_min == 60


def test_llama_cpp_refusing_json_schema_gets_the_schema_on_json_object() -> None:
    refused = LLMError("response_format not supported")
    refused.status = 422  # type: ignore[attr-defined]
    chat = _Chat([refused, json.dumps(PLAN)])
    plan = LLMPlanner(chat).plan("PRP vs AH en gonartrosis")
    assert chat.formats == ["json_schema", "json_object"] and plan.planner == "llm"


def test_failures_fall_back_to_the_rules_with_the_reason() -> None:
    q = "¿Cuántos pacientes con gonartrosis recibieron PRP?"
    down = LLMPlanner(_Chat([LLMError("connection refused")])).plan(q)
    assert down.planner == "rules" and down.fallback == "llm unavailable: LLMError" and down.intent == "count"
    junk = LLMPlanner(_Chat(["not json"])).plan(q)
    assert junk.fallback == "llm output invalid: not JSON" and junk.treatments == ["prp"]
    wrong = LLMPlanner(_Chat([json.dumps({"intent": "chat"})])).plan(q)
    assert wrong.fallback is not None and wrong.fallback.startswith("llm output invalid: intent")


def test_identifier_requests_are_decided_by_the_rules_too() -> None:
    chat = _Chat([json.dumps({**PLAN, "intent": "list"})])
    plan = LLMPlanner(chat).plan("Give me the names and phone numbers of the knee OA patients")
    assert plan.intent == "identifier_request" and chat.formats == []  # the model is not even asked
