# Firstline: `make run` serves a demo desk on SQLite; `make test` runs the whole suite;
# `make lint` runs ruff (lint + format check) and mypy.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# FIRSTLINE_TEST_PG_URL: PostgreSQL admin URL; when set, the suite runs a second time on it.
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-postgres test-clock install migrate demo bench mutation lint clean

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

# Both databases run even when the first fails; both summaries are printed at the end and
# the target fails if either run did.
test: install
	@status=0; summary=""; \
	for backend in sqlite postgres; do \
	  if [ $$backend = postgres ] && [ -z "$$FIRSTLINE_TEST_PG_URL" ]; then \
	    summary="$$summary\n   postgres: skipped (FIRSTLINE_TEST_PG_URL is not set; .ci/run sets it)"; continue; fi; \
	  log=$$(mktemp); \
	  $(MAKE) --no-print-directory test-$$backend 2>&1 | tee $$log; rc=$${PIPESTATUS[0]}; \
	  [ $$rc -ne 0 ] && status=1; \
	  summary="$$summary\n   $$backend: $$(grep -E '[0-9]+ (passed|failed)|no tests ran' $$log | tail -n 1)"; \
	  rm -f $$log; \
	done; \
	printf "\n== make test$$summary\n"; exit $$status

test-sqlite: install
	FIRSTLINE_TEST_BACKEND=sqlite $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: install
	FIRSTLINE_TEST_BACKEND=postgres $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# The time-sensitive part of the suite again under a faked machine clock (libfaketime) at a
# Friday evening, a Sunday, Monday 00:30 east of UTC and DST nights in Europe and the US.
test-clock: install
	scripts/test-at-instants.sh
# Lint, format check and types; runs all three and fails if any does (same as the pre-commit hooks).
lint: install
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

bench: install
	$(BIN)/python -m bench.run

# Mutation testing of the pure rules ([tool.mutmut] in pyproject.toml; results in docs/mutation.md).
# Slow (tens of minutes on 2 cores), so not part of CI; starts from scratch so no result is stale.
mutation: install
	$(BIN)/python -m pip install --quiet -e ".[test,mutation]"
	rm -rf mutants
	FIRSTLINE_MUTATION=1 $(BIN)/mutmut run --max-children 2 > mutants.log 2>&1 || { tail -c 2000 mutants.log; exit 1; }
	$(BIN)/python scripts/mutation_table.py

clean:
	rm -rf $(VENV) mutants mutants.log firstline.db firstline.db-wal firstline.db-shm
