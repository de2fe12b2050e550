# ccmon — the two commands a newcomer needs are `make demo` and `make test`.
#
# Every Python environment is installed from the committed lock (uv.lock) by uv, itself
# installed with pip --require-hashes from deploy/tools.lock: the same versions on every day
# and every machine until a reviewed `make lock` commit changes them (docs/operations.md,
# "Dependencies").
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
DEMO_VENV ?= .venv-demo
TOOLS ?= .tools
BIN := $(VENV)/bin
UV := $(TOOLS)/bin/uv
# Never download a Python: the machine's python3 is the one the lock was resolved for.
export UV_PYTHON_DOWNLOADS := never
SYNC = $(UV) sync --frozen --python $(PY)

.PHONY: demo test venv demo-venv lock deps lint typecheck unit integration e2e rules bench clean

$(UV): deploy/tools.lock
	test -x $(TOOLS)/bin/python || $(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check --require-hashes --only-binary :all: \
	    -r deploy/tools.lock
	touch $(UV)

## venv: the development environment, exactly uv.lock with the dev and embedded extras
venv: $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(SYNC) --extra dev --extra embedded

## demo-venv: what a user installs to run the demo, without the dev tools
demo-venv: $(UV)
	UV_PROJECT_ENVIRONMENT=$(DEMO_VENV) $(SYNC) --extra embedded

## lock: resolve the newest versions pyproject.toml allows into uv.lock, then the image's locks
## from it (a reviewed commit; tests/unit/deploy/test_locks.py fails while they disagree)
lock: $(UV)
	$(UV) lock --upgrade --python $(PY)
	$(UV) export --frozen --no-dev --no-emit-project --format requirements-txt \
	    -o deploy/requirements.lock
	$(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["build-constraint-dependencies"], sep="\n")' \
	    | $(UV) pip compile - --generate-hashes --universal --python-version 3.11 \
	      -o deploy/requirements-build.lock

## deps: the system services the tests run against (apt + Kafka jars from Maven Central)
deps:
	bash deploy/local/install.sh

## demo: embedded broker + Redis + simulator + monitor + wall; wall page and metrics at the printed URLs
demo: demo-venv
	$(DEMO_VENV)/bin/ccmon demo

LINT_DIRS := ccmon streams agents tests alerts deploy $(wildcard bench)

lint: venv
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

typecheck: venv
	$(BIN)/mypy

## test: everything — lint, types, unit, rules, integration and end-to-end on real services;
## the 15 slowest tests are listed at the end, so that CI stays under its 30 minutes knowingly;
## the tests that wait on real time run beside the unit suite (tests/support/phases.py)
test: venv deps lint typecheck
	$(BIN)/python -m tests.support.phases $(PYTEST_ARGS)

## the parts of `make test`, for a faster loop
unit: venv
	$(BIN)/python -m pytest -ra tests/unit $(PYTEST_ARGS)

integration: venv deps
	$(BIN)/python -m pytest -ra tests/integration $(PYTEST_ARGS)

e2e: venv deps
	$(BIN)/python -m pytest -ra tests/e2e $(PYTEST_ARGS)

rules: venv deps
	$(BIN)/python -m pytest -ra tests/unit/alerts $(PYTEST_ARGS)

## bench: the benchmark harness (not part of the tests); its extra comes from the lock too
bench: $(UV) deps
	UV_PROJECT_ENVIRONMENT=$(VENV) $(SYNC) --extra dev --extra embedded --extra bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
