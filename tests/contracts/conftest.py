"""The contract suites share the real parts the other test folders start: the llama.cpp server with SmolLM2 and
the GGUF it serves come from tests/reasoning/conftest.py (skipped with the install hint here, failing under CI=true)."""

from tests.reasoning.conftest import gguf_path, llama_server, server_settings  # noqa: F401 - shared fixtures
