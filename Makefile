# One entry point for people and CI. Everything installs into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup services demo test coverage lint bench docs template-history clean

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

# Branch coverage of mlops_cli, the `mlops` subprocesses the tests start included
# ([tool.coverage.run] in pyproject.toml). Every process writes its own .coverage.* here, by
# absolute path, never into a test's project; `coverage combine` merges them. `make test`
# fails when the total is under COVERAGE_FLOOR (.ci/run sets CI's floor).
COVERAGE_FLOOR ?= 0
# Parallel workers (pytest-xdist): at least 4, since most tests wait on git, DVC, Docker or
# a subprocess rather than on a core; tests/conftest.py keeps the Docker tests in one worker.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 4 ] && n=4; echo $$n)
test coverage: export COVERAGE_FILE = $(CURDIR)/.coverage

test: setup lint services      ## the whole test suite under coverage (what .ci/run calls)
	rm -f "$(COVERAGE_FILE)" "$(COVERAGE_FILE)".*
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m coverage run -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	$(MAKE) --no-print-directory coverage

coverage: setup                ## combine the .coverage.* of the last run, report, check the floor
	@if ls "$(COVERAGE_FILE)".* >/dev/null 2>&1; then $(BIN)/python -m coverage combine --quiet; fi
	$(BIN)/python -m coverage report
	@total=$$($(BIN)/python -m coverage report --format=total); \
	echo "branch coverage of mlops_cli, subprocess runs included: $$total% (floor: $(COVERAGE_FLOOR)%)"; \
	$(BIN)/python -m coverage report --format=total --fail-under=$(COVERAGE_FLOOR) >/dev/null \
	  || { echo "error: branch coverage $$total% is under the floor $(COVERAGE_FLOOR)%" >&2; exit 1; }

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
