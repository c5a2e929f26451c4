# Week 14 course package. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup test lint lab grade bench release bundle clean

help:
	@echo "make lab    - open JupyterLab on the student notebooks (installs first)"
	@echo "make grade  - headless instructor demo: the whole grading cycle on example submissions"
	@echo "make test   - lint and run the whole test suite (installs first)"
	@echo "make setup  - create .venv and install the project with its dev extras"
	@echo "make bench  - run the benchmarks in benchmarks/"
	@echo "make release - regenerate notebooks/ from solutions/ (checks the sources first)"

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check week14 autograder tests benchmarks

test: lint
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

grade: setup
	$(BIN)/python -m autograder demo

bundle: setup
	$(BIN)/python -m autograder bundle

release: setup
	$(BIN)/python -m autograder release

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
