# Week 14 course package. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup system-deps postgres test lint lab grade bench release bundle clean

help:
	@echo "make lab    - open JupyterLab on the student notebooks (installs first)"
	@echo "make lab-instructor - JupyterLab on the source notebooks, with nbgrader's instructor tools"
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

# Students: JupyterLab on notebooks/, opening the first notebook, with lab/student's
# configuration (nbgrader's instructor plugins hidden and locked, no news pop-up).
lab: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)/lab/student$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,) \
	  --LabApp.default_url=/lab/tree/week14/$(notdir $(firstword $(sort $(wildcard notebooks/week14/*.ipynb))))

# Instructors: the whole repository (solutions/ and the course folder for the formgrader),
# opening the first source notebook, with nbgrader's tools and the course configuration.
.PHONY: lab-instructor
lab-instructor: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)/lab/instructor$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root,) \
	  --LabApp.default_url=/lab/tree/solutions/week14/$(notdir $(firstword $(sort $(wildcard solutions/week14/*.ipynb))))

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
