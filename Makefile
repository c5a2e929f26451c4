# Week 14 course package. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One environment in .venv, installed by role (pyproject.toml): `make lab` installs the
# student set only (the core dependencies), `make grade` adds [grader] (nbgrader,
# psycopg), `make setup`/`make test` add [dev] (the grader set and the test tools).
STUDENT_STAMP := $(VENV)/.installed-student
GRADER_STAMP  := $(VENV)/.installed-grader
STAMP         := $(VENV)/.installed
LAB_ARGS ?=

.PHONY: help setup student grader system-deps postgres test test-fast lint lab grade bench release bundle clean

help:
	@echo "make lab    - open JupyterLab on the student notebooks (installs the student set first;"
	@echo "              LAB_ARGS='--port 8890' passes options to python -m week14.lab)"
	@echo "make lab-instructor - JupyterLab on the source notebooks, with nbgrader's instructor tools"
	@echo "make grade  - headless instructor demo: the whole grading cycle on example submissions"
	@echo "make test   - lint and run the whole test suite (installs first)"
	@echo "make test-fast - the quick tier while coding: no sandbox, browser or slow tests"
	@echo "make setup  - create .venv and install the project with its dev extras"
	@echo "make bench  - run the benchmarks in benchmarks/"
	@echo "make release - regenerate notebooks/ from solutions/ (checks the sources first)"
	@echo "PYTHON=python3.12 make ... - build .venv with another Python (3.11 or newer)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); week14 needs 3.11 or newer: run make again with PYTHON=python3.11 (or 3.12, 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

student: $(STUDENT_STAMP)
grader: $(GRADER_STAMP)
setup: $(STAMP)

$(STUDENT_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(GRADER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[grader]'
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages the tests use: Chromium for the browser tests, bubblewrap for the
# grading sandbox, PostgreSQL for the shared-gradebook tests. Installed when missing if
# we are root; otherwise the command to run is printed.
SYSTEM_PACKAGES := chromium bubblewrap postgresql
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please run: sudo apt-get install -y $$missing"; exit 1; fi; \
	fi

lint: setup
	$(BIN)/ruff check week14 autograder tests benchmarks

# PostgreSQL on 127.0.0.1:5432 with the role the tests use (tests/start_postgres.sh).
postgres: system-deps
	bash tests/start_postgres.sh

test: lint system-deps postgres
	$(BIN)/python -m pytest

# While coding: the library, grading helpers and widgets only (no sandbox, browser or
# slow tiers: tests/conftest.py TIERS); `make test` before pushing.
test-fast: lint
	$(BIN)/python -m pytest -m "not sandbox and not browser and not slow"

# Students: JupyterLab on notebooks/, opening the first notebook, with lab/student's
# configuration (the launcher week14/lab.py: the same command without make on any system).
lab: student
	$(BIN)/python -m week14.lab $(LAB_ARGS)

# Instructors: the whole repository (solutions/ and the course folder for the formgrader),
# opening the first source notebook, with nbgrader's tools and the course configuration.
.PHONY: lab-instructor
lab-instructor: grader
	JUPYTER_CONFIG_PATH="$(CURDIR)/lab/instructor$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root,) \
	  --LabApp.default_url=/lab/tree/solutions/week14/$(notdir $(firstword $(sort $(wildcard solutions/week14/*.ipynb))))

grade: grader
	$(BIN)/python -m autograder demo

bundle: grader
	$(BIN)/python -m autograder bundle

release: grader
	$(BIN)/python -m autograder release

bench: grader
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
