# Firstline: `make run` serves a demo desk on SQLite; `make test` runs the whole suite;
# `make lint` runs ruff (lint + format check) and mypy.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# FIRSTLINE_TEST_PG_URL: PostgreSQL admin URL; when set, the suite runs a second time on it.
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-postgres install migrate demo bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/firstline migrate

demo: migrate
	$(BIN)/firstline demo

run: demo
	$(BIN)/firstline serve --host $(HOST) --port $(PORT)

test: install
	@$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$FIRSTLINE_TEST_PG_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "FIRSTLINE_TEST_PG_URL is not set: skipped the PostgreSQL run (.ci/run sets it)"; fi

test-sqlite: install
	FIRSTLINE_TEST_BACKEND=sqlite $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: install
	FIRSTLINE_TEST_BACKEND=postgres $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# Lint, format check and types; runs all three and fails if any does (same as the pre-commit hooks).
lint: install
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) firstline.db firstline.db-wal firstline.db-shm
