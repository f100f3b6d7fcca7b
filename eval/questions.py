"""Question sets for `casewise eval run`: the synthetic clinic's ground truth, or a clinic's own CSV / JSONL file.

A clinic's file has one question per row/line with these fields (only `question` is required):

| field | meaning |
|---|---|
| `id` | a short name for the question (default: q1, q2 ...) |
| `question` | the question as a clinician would ask it |
| `language` | es or en (default: detected) |
| `expected_records` | record numbers (NHC/MRN) of the past patients that should be found; pseudonymised on load |
| `expected_cases` | case ids (PT-...) that should be found, for clinics that already know them |
| `expected_answer` | a reference answer (Ragas context recall / precision compare against it) |
| `expected_better`, `expected_worse` | treatment ids that should rank above / below each other |

In CSV, lists are separated by `;` or `|`; in JSONL they may be JSON lists. Record numbers never leave this module:
they are turned into keyed pseudonyms, the same way the indexer names cases.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casewise.errors import CasewiseError

FIELDS = ("id", "question", "language", "expected_records", "expected_cases", "expected_answer", "expected_better",
          "expected_worse")
MAX_QUESTIONS = 10_000
_SPLIT = re.compile(r"[;|]")


class QuestionSetError(CasewiseError):
    """A question file cannot be read (message names the file, line and field)."""


@dataclass
class EvalQuestion:
    """One evaluation question with what a good answer should find."""

    question_id: str
    text: str
    language: str | None = None
    expected_cases: list[str] = field(default_factory=list)
    expected_answer: str | None = None
    expected_better: list[str] = field(default_factory=list)
    expected_worse: list[str] = field(default_factory=list)

    def reference(self) -> str | None:
        """The reference answer, or one written from the designed better/worse treatments."""
        if self.expected_answer:
            return self.expected_answer
        if self.expected_better:
            text = f"Treatments that worked better for similar patients: {', '.join(self.expected_better)}."
            if self.expected_worse:
                text += f" Treatments that worked less well: {', '.join(self.expected_worse)}."
            return text
        return None


@dataclass
class QuestionSet:
    """The questions, where they came from, and the synthetic ground truth when the set is one."""

    source: str
    questions: list[EvalQuestion]
    ground_truth: Any = None  # synth.GroundTruth for the synthetic clinic


def normalize_record(ref: str) -> str:
    """Record numbers compare without spaces or leading zeros, as the indexer compares them ('0012345' = '12345')."""
    return ref.strip().lstrip("0") or "0"


def load_questions(path: Path | None, pseudonym: Callable[[str], str]) -> QuestionSet:
    """Read a question set; `pseudonym` turns a record number into the case id the indexer gave that patient."""
    if path is None:
        from synth import SAMPLE_DIR

        path = SAMPLE_DIR / "ground_truth.json"
    path = Path(path)
    if path.is_dir():
        path = path / "ground_truth.json"
    if not path.is_file():
        raise QuestionSetError(f"{path}: question file not found (give a ground_truth.json, .csv or .jsonl file)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_ground_truth(path, pseudonym)
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise QuestionSetError(f"{path}: unsupported question file type {suffix or '(none)'}; use .json, .csv or .jsonl")
    questions = [_question(path, where, row, i, pseudonym) for i, (where, row) in enumerate(rows)]
    if not questions:
        raise QuestionSetError(f"{path}: no questions in the file")
    if len(questions) > MAX_QUESTIONS:
        raise QuestionSetError(f"{path}: {len(questions)} questions; the limit is {MAX_QUESTIONS}")
    ids = [q.question_id for q in questions]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise QuestionSetError(f"{path}: field id: duplicate question ids {dup[:5]}")
    return QuestionSet(source=str(path), questions=questions)


def _from_ground_truth(path: Path, pseudonym: Callable[[str], str]) -> QuestionSet:
    from pydantic import ValidationError

    from synth import load_ground_truth

    try:
        truth = load_ground_truth(path)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise QuestionSetError(f"{path}: not a synthetic-clinic ground_truth.json ({loc}: {first['msg']})") from None
    except ValueError as exc:
        raise QuestionSetError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    questions = [
        EvalQuestion(question_id=q.question_id, text=q.text, language=q.language,
                     expected_cases=sorted({pseudonym(normalize_record(n)) for n in q.matching_nhcs}),
                     expected_better=list(q.expected_better), expected_worse=list(q.expected_worse))
        for q in truth.questions
    ]
    return QuestionSet(source=str(path), questions=questions, ground_truth=truth)


def _csv_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionSetError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    first = raw.splitlines()[0] if raw.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count)  # the header decides, as spreadsheets export either
    reader = csv.DictReader(io.StringIO(raw), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "question" not in header:
        raise QuestionSetError(f"{path}: line 1: no 'question' column (columns: {', '.join(FIELDS)})")
    unknown = [h for h in header if h and h not in FIELDS]
    if unknown:
        raise QuestionSetError(f"{path}: line 1: unknown column(s) {unknown}; valid: {', '.join(FIELDS)}")
    reader.fieldnames = header
    return [(f"line {n}", row) for n, row in enumerate(reader, start=2) if any((v or "").strip() for v in row.values()
                                                                             if isinstance(v, str))]


def _jsonl_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise QuestionSetError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{path}: line {n}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise QuestionSetError(f"{path}: line {n}: expected a JSON object with a 'question' field")
        unknown = [k for k in obj if k not in FIELDS]
        if unknown:
            raise QuestionSetError(f"{path}: line {n}: unknown field(s) {unknown}; valid: {', '.join(FIELDS)}")
        rows.append((f"line {n}", obj))
    return rows


def _as_list(path: Path, where: str, name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        if not all(isinstance(v, str | int) for v in value):
            raise QuestionSetError(f"{path}: {where}: field {name}: expected a list of strings")
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str | int):
        return [v.strip() for v in _SPLIT.split(str(value)) if v.strip()]
    raise QuestionSetError(f"{path}: {where}: field {name}: expected a list or a ';'-separated string")


def _question(path: Path, where: str, row: dict[str, Any], index: int,
              pseudonym: Callable[[str], str]) -> EvalQuestion:
    text = row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise QuestionSetError(f"{path}: {where}: field question: is empty")
    language = (str(row.get("language") or "").strip().lower()) or None
    if language not in (None, "es", "en"):
        raise QuestionSetError(f"{path}: {where}: field language: must be es or en, not {language!r}")
    records = _as_list(path, where, "expected_records", row.get("expected_records"))
    cases = _as_list(path, where, "expected_cases", row.get("expected_cases"))
    answer = row.get("expected_answer")
    if answer is not None and not isinstance(answer, str):
        raise QuestionSetError(f"{path}: {where}: field expected_answer: expected text")
    qid = str(row.get("id") or "").strip() or f"q{index + 1}"
    return EvalQuestion(
        question_id=qid, text=text.strip(), language=language,
        expected_cases=sorted(set(cases) | {pseudonym(normalize_record(r)) for r in records}),
        expected_answer=(answer or "").strip() or None,
        expected_better=_as_list(path, where, "expected_better", row.get("expected_better")),
        expected_worse=_as_list(path, where, "expected_worse", row.get("expected_worse")),
    )
