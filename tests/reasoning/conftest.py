"""Fixtures for the reasoning tests: a real llama.cpp OpenAI-compatible server with SmolLM2-135M, the bundled
embedder, and small hand-built evidence (de-identified, invented cases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casewise.embedding import Embedder
from casewise.embedding.factory import get_embedder
from casewise.settings import EmbeddingSettings, LLMSettings
from casewise.store import Store
from casewise.types import Evidence
from tests.parts import LLAMA_CPP, LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reasoning.reasoning_testdata import make_evidence, running_llama_server, smollm2_gguf

# One thread: on a shared 2-core box two llama.cpp threads spin against other load (measured 1.2-1.5x slower).
SERVER_THREADS = 1
SERVER_START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    require_part(LLAMA_CPP, llama_cpp_missing(server=False))
    path = smollm2_gguf()
    assert path is not None
    return path


@pytest.fixture(scope="session")
def llama_server(gguf_path: Path) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on a free local port; yield its base URL (…/v1); stop it afterwards."""
    require_part(LLAMA_SERVER, llama_cpp_missing())
    with running_llama_server(gguf_path, alias="smollm2", n_ctx=4096, threads=SERVER_THREADS,
                              start_timeout_s=SERVER_START_TIMEOUT_S) as base:
        yield base


@pytest.fixture(scope="session")
def server_settings(llama_server: str) -> LLMSettings:
    return LLMSettings(backend="openai", base_url=llama_server, model="smollm2", timeout_s=60, max_retries=0,
                       max_tokens=64, temperature=0.0)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder(EmbeddingSettings())


@pytest.fixture()
def evidence() -> Evidence:
    return make_evidence()


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    """A case store holding the invented cases of tests/retrieval/test_plan_cohort.py."""
    from tests.retrieval.test_plan_cohort import CASES

    s = Store(f"sqlite:///{tmp_path / 'c.db'}")
    for case in CASES:
        s.save_case(case, "fp")
    return s
