"""Ragas with a local judge: faithfulness end to end against llama.cpp's server, whose JSON-schema grammar keeps even
a 135M model's structured output valid; and the non-LLM metrics when no judge is configured."""

from __future__ import annotations

import httpx
import pytest

from casewise.settings import JudgeSettings
from eval.ragas_judge import MAX_ITEMS, RagasSample, RagasScorer, strict_json, to_llamacpp_response_format

ANSWER = "PRP lowered the pain of case PT-1."  # short: the 135M judge writes few statements (grammar sampling is slow)
CONTEXT = "[PT-1] Knee osteoarthritis. Three PRP injections two weeks apart. At 6 months VAS fell from 7 to 3."


def test_faithfulness_end_to_end_with_grammar_constrained_json(judge_server: str) -> None:
    judge = JudgeSettings(backend="llamacpp-server", base_url=judge_server, model="judge", max_tokens=192,
                          timeout_s=240)
    scorer = RagasScorer(judge, None, metrics=["faithfulness"])
    assert scorer.uses_judge and scorer.metrics == ["faithfulness"]
    [scores] = scorer.score([RagasSample("What worked for knee osteoarthritis?", ANSWER, [CONTEXT])])
    # Both Ragas steps (statements, then verdicts) parsed: a number, not a failure counted as n/a.
    assert scorer.errors == {}
    assert scores["faithfulness"] is not None and 0.0 <= scores["faithfulness"] <= 1.0


def test_llama_cpp_refuses_openai_json_schema_so_the_judge_rewrites_it(judge_server: str) -> None:
    schema = {"type": "object", "properties": {"statements": {"type": "array", "items": {"type": "string"}}},
              "required": ["statements"]}
    openai_format = {"type": "json_schema", "json_schema": {"name": "Out", "schema": schema}}
    body = {"model": "judge", "messages": [{"role": "user", "content": "List one fact about knees as JSON."}],
            "max_tokens": 1}
    refused = httpx.post(f"{judge_server}/chat/completions", json={**body, "response_format": openai_format},
                         timeout=60)
    assert refused.status_code >= 400 and "json_object" in refused.text  # it accepts only text / json_object
    rewritten = to_llamacpp_response_format(openai_format)
    assert rewritten == {"type": "json_object", "schema": {**schema, "properties": {"statements": {
        "type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_ITEMS}}}}
    accepted = httpx.post(f"{judge_server}/chat/completions", json={**body, "response_format": rewritten}, timeout=60)
    assert accepted.status_code == 200


def test_raw_line_breaks_in_judge_strings_are_escaped() -> None:
    assert strict_json('{"statements": ["line one\nline two"]}') == '{"statements": ["line one\\nline two"]}'
    assert strict_json("not json") == "not json"


def test_without_a_judge_only_the_non_llm_metrics_run_on_case_ids() -> None:
    scorer = RagasScorer(JudgeSettings(), None)
    assert not scorer.uses_judge and "no judge" in scorer.mode
    assert scorer.metrics == ["id_context_precision", "id_context_recall"]
    [scores] = scorer.score([RagasSample("q", "a", ["c"], retrieved_ids=["PT-A", "PT-B", "PT-C"],
                                         reference_ids=["PT-A", "PT-D"])])
    # precision: 1 of 3 retrieved is expected; recall: 1 of 2 expected was retrieved
    assert scores == {"id_context_precision": pytest.approx(1 / 3), "id_context_recall": 0.5}


def test_unknown_metric_and_missing_judge_url_are_named() -> None:
    from casewise.errors import ConfigError

    with pytest.raises(ConfigError, match="faithfullness"):
        RagasScorer(JudgeSettings(), None, metrics=["faithfullness"])
    with pytest.raises(ValueError, match="eval.judge.base_url"):
        JudgeSettings(backend="vllm")


def test_an_unreachable_judge_is_one_clear_error_before_any_question() -> None:
    from casewise.errors import LLMError
    from tests.reasoning.reasoning_testdata import closed_port_url

    url = closed_port_url()
    scorer = RagasScorer(JudgeSettings(backend="vllm", base_url=url), None, metrics=["faithfulness"])
    with pytest.raises(LLMError, match="eval.judge") as exc:
        scorer.check()
    assert url in str(exc.value) and "\n" not in str(exc.value)
