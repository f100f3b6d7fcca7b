"""The multiple-choice answer extractor on hand-written outputs, the MedQA/MedMCQA loaders, first-match accuracy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from casewise.llm import LLMReply
from eval.mcq import MCQDataError, MCQItem, evaluate_mcq, extract_choice, load_medmcqa, load_medqa, mcq_messages, sample

SHARED = Path("/work/shared/data")


@pytest.mark.parametrize(("output", "expected"), [
    ("The answer is (B)", "B"),
    ("**Answer: C**", "C"),
    ("Final answer: **B**", "B"),
    ("B) Tell the attending that he cannot fail to disclose this mistake", "B"),
    ("La respuesta correcta es la C", "C"),
    ("Respuesta: (D)", "D"),
    ("La opción correcta es la B.", "B"),
    ("D", "D"),
    # two letters: an explicit statement beats a mere mention, and the first statement is kept
    ("A or C could fit, but the answer is D.", "D"),
    ("The answer is B. On reflection, the answer is C.", "B"),
    ("I think (A) is plausible, though (C) also fits.", "A"),
    # HuatuoGPT-o1's thinking weighs options; its final response decides
    ("## Thinking\n\nThe answer is A? No.\n\n## Final Response\n\nThe answer is C.", "C"),
    # nothing to read: the article 'a' and lower-case letters are not answers
    ("a patient with a cough", None),
    ("answer: option b", None),
    ("", None),
])
def test_extractor_reads_the_first_stated_letter(output: str, expected: str | None) -> None:
    assert extract_choice(output) == expected


def test_extractor_falls_back_to_the_one_quoted_option() -> None:
    options = {"A": "Insulin", "B": "Glucagon", "C": "Cortisol", "D": "Somatostatin"}
    assert extract_choice("It is glucagon that rises.", options) == "B"
    assert extract_choice("Insulin or glucagon.", options) is None  # two quoted: no guess


def test_extractor_accepts_a_fifth_option_only_when_asked() -> None:
    assert extract_choice("The answer is E") is None
    assert extract_choice("The answer is E", letters="ABCDE") == "E"


def test_loaders_read_the_shared_sets() -> None:
    medqa = load_medqa(SHARED / "medqa", limit=5)
    assert len(medqa) == 5 and all(set(i.options) == set("ABCD") and i.answer in "ABCD" for i in medqa)
    assert medqa[0].answer == "B" and medqa[0].options["B"].startswith("Tell the attending")
    medmcqa = load_medmcqa(SHARED / "medmcqa", limit=5)
    assert len(medmcqa) == 5
    # cop is 1-based: the first item's correct option is `opa`
    assert medmcqa[0].answer == "A" and medmcqa[0].options["A"].startswith("Impulse through myelinated")
    assert "A. " in mcq_messages(medqa[0])[0]["content"] and "The answer is X" in mcq_messages(medqa[0])[0]["content"]
    assert sample(medqa, 3, seed=1) == sample(medqa, 3, seed=1) and len(sample(medqa, 3)) == 3


def test_bad_lines_are_named(tmp_path: Path) -> None:
    f = tmp_path / "dev.json"
    f.write_text(json.dumps({"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0}) + "\n")
    with pytest.raises(MCQDataError, match=r"dev.json:1: field 'cop' must be 1-4"):
        load_medmcqa(f)
    g = tmp_path / "test.jsonl"
    g.write_text('{"question": "q", "options": {"A": "x"}, "answer_idx": "A"}\nnot json\n')
    with pytest.raises(MCQDataError, match=r"test.jsonl:2: not a JSON object"):
        load_medqa(g)


class _MockScriptedLLM:
    """Replays fixed outputs: the accuracy arithmetic needs answers chosen by the test, which no real model gives."""

    model = "scripted"

    def __init__(self, outputs: Sequence[str]) -> None:
        self.outputs = list(outputs)

    def complete(self, messages, *, max_tokens, temperature, response_format=None):  # type: ignore[no-untyped-def]
        return LLMReply(text=self.outputs.pop(0), model=self.model, completion_tokens=5)


def test_accuracy_counts_the_first_match_not_the_best_of_first_and_last_mock() -> None:
    options = {"A": "Alpha drug", "B": "Beta drug", "C": "Gamma drug", "D": "Delta drug"}
    items = [MCQItem("medqa", f"q{i}", "?", options, gold) for i, gold in enumerate("CAB")]
    llm = _MockScriptedLLM(["The answer is C", "The answer is B... no wait, the answer is A", "I cannot tell"])
    res = evaluate_mcq(llm, items)
    assert [o.predicted for o in res.outcomes] == ["C", "B", None]
    assert res.correct == 1 and res.unanswered == 1 and res.accuracy == pytest.approx(1 / 3)
