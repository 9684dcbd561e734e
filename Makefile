# Batch Normalization, hands-on — the two commands of the README are `make lab` and `make test`.
# Both create the virtual environment on first use (pinned versions, see requirements.txt / constraints.txt).
# `make test-full` runs every test, the heavy ones too (see CONTRIBUTING.md).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JupyterLab refuses to start as root (CI machines, containers) unless told it is fine.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PORT ?= 8888
JOBS ?= 1
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))

# nbgrader calls `alembic` by name, and kernels should start from the venv.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: lab test test-full bench install release autograde feedback grades solutions-outputs clean

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt helpers/pyproject.toml grading/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e helpers
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e grading
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

# The everyday lane: every test not marked `full` (pytest.ini). PYTEST_ARGS adds options, e.g. PYTEST_ARGS=-x.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not full" $(PYTEST_ARGS)

# The full lane, before resolving an issue: every pytest test (`make test`'s and the `full` ones), then each
# target of FULL_TARGETS in order. A heavier check with a target of its own (the trainer's equivalence evidence,
# browser tests, a Colab-stack canary) joins the lane by defining its rule and adding, below this line:
#     FULL_TARGETS += equivalence
FULL_TARGETS :=
test-full: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	for target in $(FULL_TARGETS); do $(MAKE) --no-print-directory "$$target" || exit 1; done

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

# Re-execute the solution notebooks in place, so the outputs nbval compares against are current.
solutions-outputs: $(STAMP)
	for nb in solutions/*/*.ipynb; do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	done

# --- For instructors (see README) -------------------------------------------------------------
release: $(STAMP)
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; done

# Grade everything under submitted/<student>/<assignment>/ (repair, sandbox, limits; JOBS submissions at once).
# GRADING_ARGS passes more options, e.g. GRADING_ARGS="--timeout 120 02-baseline" (python -m grading.autograde -h).
autograde: $(STAMP)
	$(BIN)/python -m grading.autograde --jobs $(JOBS) $(GRADING_ARGS)

# HTML feedback per student under feedback/, hidden test code removed, grading notes on top.
feedback: $(STAMP)
	$(BIN)/python -m grading.feedback

# The gradebook as grades.csv.
grades: $(STAMP)
	$(BIN)/python -m grading.grades --to grades.csv

clean:
	rm -rf source_with_tests autograded feedback gradebook.db grades.csv .pytest_cache
