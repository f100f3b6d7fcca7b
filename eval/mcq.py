"""Multiple-choice accuracy on MedQA (USMLE, 4 options) and MedMCQA (dev), with a robust answer extractor.

Data (both MIT-licensed, see the LICENSE files next to them):
- MedQA `test.jsonl`: one object per line with `question`, `options` {"A": ..., "D": ...}, `answer_idx` ("A".."D").
- MedMCQA `dev.json`: one object per line with `question`, `opa`..`opd`, `cop` = the correct option, 1-4.

The extractor reads one answer letter from free text and reports the FIRST match of the strongest kind of
evidence found: an explicit statement ("the answer is (B)", "**Answer: C**", "la respuesta correcta es la C")
beats an option line ("B) ..."), which beats a lone letter, which beats quoting exactly one option's text. Within a
kind the earliest match wins. Taking the first match (never the better of the first and the last) keeps a model
that lists several letters from being credited with whichever happens to be right. A HuatuoGPT-o1 reply is read
from its `## Final Response` section when it has one, since its thinking weighs every option.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from casewise.errors import CasewiseError

Source = Literal["medqa", "medmcqa"]
LETTERS = "ABCDE"
MCQ_MAX_TOKENS = 512


class MCQDataError(CasewiseError):
    """A multiple-choice file cannot be read (path, line and field are named)."""


@dataclass(frozen=True)
class MCQItem:
    source: Source
    item_id: str
    question: str
    options: dict[str, str]
    answer: str


@dataclass
class MCQOutcome:
    item_id: str
    gold: str
    predicted: str | None
    correct: bool
    seconds: float
    completion_tokens: int | None = None


@dataclass
class MCQResult:
    source: str
    model: str
    n: int
    correct: int
    unanswered: int
    accuracy: float | None
    outcomes: list[MCQOutcome] = field(default_factory=list)


# --------------------------------------------------------------------------- loading


def _lines(path: Path) -> list[tuple[int, dict[str, object]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MCQDataError(f"{path}: cannot read ({type(exc).__name__})") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise MCQDataError(f"{path}:{n}: not a JSON object per line") from None
        if not isinstance(obj, dict):
            raise MCQDataError(f"{path}:{n}: not a JSON object per line")
        out.append((n, obj))
    return out


def _text(obj: dict[str, object], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MCQDataError(f"{where}: field {key!r} is missing or empty")
    return value.strip()


def load_medqa(path: Path, limit: int | None = None) -> list[MCQItem]:
    """MedQA-USMLE items from `test.jsonl` (or the folder holding it)."""
    path = path / "test.jsonl" if path.is_dir() else path
    items = []
    for n, obj in _lines(path)[:limit]:
        where = f"{path}:{n}"
        options = obj.get("options")
        if not isinstance(options, dict) or not options:
            raise MCQDataError(f"{where}: field 'options' must be an object of letter -> text")
        answer = _text(obj, "answer_idx", where)
        if answer not in options:
            raise MCQDataError(f"{where}: field 'answer_idx' is {answer!r}, not one of the options")
        items.append(MCQItem("medqa", f"medqa-{n}", _text(obj, "question", where),
                             {str(k): str(v) for k, v in options.items()}, answer))
    return items


def load_medmcqa(path: Path, limit: int | None = None) -> list[MCQItem]:
    """MedMCQA items from `dev.json` (or the folder holding it); `cop` 1-4 is the correct option."""
    path = path / "dev.json" if path.is_dir() else path
    items = []
    for n, obj in _lines(path)[:limit]:
        where = f"{path}:{n}"
        options = {letter: _text(obj, key, where) for letter, key in zip("ABCD", ("opa", "opb", "opc", "opd"))}
        cop = obj.get("cop")
        if not isinstance(cop, int) or not 1 <= cop <= 4:
            raise MCQDataError(f"{where}: field 'cop' must be 1-4, got {cop!r}")
        items.append(MCQItem("medmcqa", str(obj.get("id") or f"medmcqa-{n}"), _text(obj, "question", where),
                             options, "ABCD"[cop - 1]))
    return items


def sample(items: Sequence[MCQItem], n: int | None, seed: int = 0) -> list[MCQItem]:
    """A fixed random subset (the same for every system compared), or all items."""
    if n is None or n >= len(items):
        return list(items)
    return random.Random(seed).sample(list(items), n)


# --------------------------------------------------------------------------- extraction


def _letter_class(letters: str) -> str:
    return "[" + re.escape(letters) + "]"


def _explicit_patterns(L: str) -> list[re.Pattern[str]]:
    opt = rf"(?:option|opci[oó]n|choice)?\s*[\(\[]?\**\s*({L})\b"
    return [
        # "The answer is (B)", "correct answer: C", "Answer - D", "final answer is B"
        re.compile(rf"\banswer\s*(?:is|would\s+be|will\s+be|should\s+be|[:\-–=])?\s*\**\s*:?\s*{opt}", re.IGNORECASE),
        # "La respuesta correcta es la C", "respuesta: (B)", "opción correcta: D"
        re.compile(rf"\brespuesta\s*(?:correcta|final)?\s*(?:es|ser[ií]a|:)?\s*(?:la\s+)?\**\s*:?\s*{opt}",
                   re.IGNORECASE),
        re.compile(rf"\b(?:correct|right|best)\s+(?:option|choice)\s*(?:is|:)?\s*[\(\[]?\**\s*({L})\b", re.IGNORECASE),
        re.compile(rf"\bopci[oó]n\s+correcta\s*(?:es|:)?\s*(?:la\s+)?[\(\[]?\**\s*({L})\b", re.IGNORECASE),
    ]


def _answer_part(text: str) -> str:
    m = re.search(r"^#+\s*(?:Final Response|Respuesta final)\s*$", text, re.IGNORECASE | re.MULTILINE)
    return text[m.end():] if m else text


def extract_choice(text: str, options: dict[str, str] | None = None, letters: str = "ABCD") -> str | None:
    """The answer letter in a model's output (first match of the strongest evidence), or None."""
    if not text or not text.strip():
        return None
    body = _answer_part(text)
    L = _letter_class(letters)
    # letters are case-sensitive below so an English article "a" is never read as option A
    explicit = [m for p in _explicit_patterns(L) for m in p.finditer(body) if m.group(1) in letters]
    explicit = [m for m in explicit if m.group(1).isupper()]
    if explicit:
        return min(explicit, key=lambda m: m.start(1)).group(1)
    line = re.search(rf"^\s*[\(\[]?\**({L})\**\s*[\)\]\.:]\s*\S", body, re.MULTILINE)
    lone = re.search(rf"^\s*[\(\[]?\**({L})\**[\)\]\.]?\s*$", body, re.MULTILINE)
    paren = re.search(rf"\(({L})\)", body)
    for m in (line, lone, paren):
        if m:
            return m.group(1)
    if options:
        folded = body.casefold()
        quoted = [k for k, v in options.items() if v and v.casefold() in folded]
        if len(quoted) == 1:
            return quoted[0]
    return None


# --------------------------------------------------------------------------- asking

_PROMPT = ("Answer the following multiple-choice medical question with the letter of the single best option. "
           "End your reply with a line 'The answer is X', where X is the letter.\n\n{question}\n\n{options}")


def mcq_messages(item: MCQItem) -> list[dict[str, str]]:
    options = "\n".join(f"{k}. {v}" for k, v in item.options.items())
    return [{"role": "user", "content": _PROMPT.format(question=item.question, options=options)}]


def evaluate_mcq(llm: object, items: Sequence[MCQItem], *, max_tokens: int = MCQ_MAX_TOKENS,
                 source: str | None = None) -> MCQResult:
    """Ask `llm` (the casewise.llm.LLM protocol) every item; first-match accuracy over all items."""
    outcomes = []
    for item in items:
        started = time.perf_counter()
        reply = llm.complete(mcq_messages(item), max_tokens=max_tokens, temperature=0.0)  # type: ignore[attr-defined]
        letters = "".join(sorted(item.options))
        predicted = extract_choice(reply.text, item.options, letters=letters)
        outcomes.append(MCQOutcome(item.item_id, item.answer, predicted, predicted == item.answer,
                                   round(time.perf_counter() - started, 3), reply.completion_tokens))
    correct = sum(o.correct for o in outcomes)
    return MCQResult(source=source or (items[0].source if items else ""), model=str(getattr(llm, "model", "")),
                     n=len(outcomes), correct=correct, unanswered=sum(o.predicted is None for o in outcomes),
                     accuracy=correct / len(outcomes) if outcomes else None, outcomes=outcomes)
