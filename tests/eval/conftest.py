"""Fixtures for the evaluation tests: a real llama.cpp OpenAI-compatible server as the Ragas judge.

The context is 8192 tokens: a Ragas prompt is ~1.7k tokens and asks for up to 1024 more.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.parts import LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reasoning.reasoning_testdata import running_llama_server, smollm2_gguf

JUDGE_N_CTX = 8192
JUDGE_THREADS = 1  # a shared 2-core box: one thread is faster than two fighting other load
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def judge_server() -> Iterator[str]:
    """`python -m llama_cpp.server` with SmolLM2-135M on a free local port; yields its base URL (…/v1)."""
    require_part(LLAMA_SERVER, llama_cpp_missing())
    gguf = smollm2_gguf()
    assert gguf is not None
    with running_llama_server(gguf, alias="judge", n_ctx=JUDGE_N_CTX, threads=JUDGE_THREADS,
                              start_timeout_s=START_TIMEOUT_S) as base:
        yield base
