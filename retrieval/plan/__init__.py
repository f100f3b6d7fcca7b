"""The question plan: a clinician's question read into intent, profile, conditions, arms, measures and time points.

`Planner` is the role; `RulesPlanner` (the clinic vocabulary plus Spanish and English patterns, offline) is the
default. An LLM planner with a JSON schema can stand behind the same Protocol.
"""

from __future__ import annotations

from typing import Protocol

from casewise.plan import QuestionPlan
from casewise.types import Language
from retrieval.plan.rules import RulesPlanner


class Planner(Protocol):
    """Reads one de-identified question into a QuestionPlan."""

    name: str

    def plan(self, question: str, *, language: Language | None = None) -> QuestionPlan: ...


__all__ = ["Planner", "RulesPlanner"]
