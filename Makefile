# The two commands of the README. Both set everything up first (idempotent) and work offline after the first install.
.PHONY: demo test setup setup-test lint bench clean

setup:
	scripts/bootstrap.sh

setup-test:
	scripts/bootstrap.sh --test

demo: setup
	.venv/bin/casewise demo

test: setup-test
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/mypy casewise app cli indexing retrieval reasoning api eval synth bench && .venv/bin/lint-imports

bench: setup
	.venv/bin/python -m bench.ingest && .venv/bin/python -m bench.query

clean:
	rm -rf .casewise .casewise-demo test-artifacts
