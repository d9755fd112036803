# One entry point for people and CI. Everything installs into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup services demo test lint bench docs template-history clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup services           ## the whole lifecycle on the demo project, in a temp folder
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

services:                      ## install (as root) and start sshd, dockerd, registries, S3 (moto) for the tests
	@if [ "$$(id -u)" = 0 ]; then bash scripts/services.sh; \
	else echo "not root: services not started; tests that need them will skip"; fi

test: setup lint services      ## the whole test suite (what .ci/run calls)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: setup                   ## every benchmark, each beside its anchor measured in the same run
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run_all.py $(BENCH_ARGS)

docs: setup                    ## regenerate the reference parts of docs/
	$(BIN)/python -m mlops_cli.cli.reference

TEMPLATES ?= $(CURDIR)/templates
template-history: setup        ## a template release: keep the replaced version (HEAD's) as a patch, TEMPLATE=<name>
	@test -n "$(TEMPLATE)" || { echo "usage: make template-history TEMPLATE=<name> [FROM=<rev>]" >&2; exit 2; }
	$(BIN)/python -m mlops_cli.scaffold.history "$(TEMPLATE)" --from "$(or $(FROM),HEAD)" --templates "$(TEMPLATES)"

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
