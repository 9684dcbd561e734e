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

.PHONY: site test-browser test-binder test-colab readme lock lab lab-instructor publish test test-full bench equivalence trainer-avx2 install release autograde feedback grades solutions-outputs clean

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt helpers/pyproject.toml grading/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e helpers
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e grading
	touch $(STAMP)

# The universal lock: re-resolve constraints.txt for Linux x86-64 and aarch64, macOS arm64 and Windows x86-64
# after a change of requirements.txt (uv keeps every existing pin that still fits; needs PyPI). Not part of the
# set-up, so it only needs a venv with pip, not the environment the old lock describes.
UV_VERSION := 0.13.9
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11.5 --custom-compile-command "make lock" \
		requirements.txt -o constraints.txt

# The student JupyterLab on notebooks/: nbgrader's Formgrader, Create Assignment and Courses are off, the
# Assignments panel stays (jupyter/student, first on JUPYTER_CONFIG_PATH; see jupyter/README.md).
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(abspath jupyter/student)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
		$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

# The instructor's JupyterLab on the course directory, with every nbgrader panel (formgrader included).
lab-instructor: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. --port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

# The everyday lane: every test not marked `full` (pytest.ini). PYTEST_ARGS adds options, e.g. PYTEST_ARGS=-x.
test: $(STAMP) sandbox
	$(BIN)/python -m pytest -m "not full and not browser and not binder" $(PYTEST_ARGS)

# The full lane, before resolving an issue: every pytest test (`make test`'s and the `full` ones), then each
# target of FULL_TARGETS in order: the trainer's one-epoch checks with oneDNN limited to AVX2, and its
# equivalence evidence. A heavier check with a target of its own (browser tests, a Colab-stack canary) joins
# the lane by defining its rule and adding it to FULL_TARGETS.
FULL_TARGETS := trainer-avx2 test-browser test-binder test-colab equivalence
test-full: $(STAMP) sandbox
	$(BIN)/python -m pytest -m "not browser and not binder" $(PYTEST_ARGS)
	for target in $(FULL_TARGETS); do $(MAKE) --no-print-directory "$$target" || exit 1; done

# The benchmark and the equivalence evidence use the test zoo's models (tests/zoo.py).
bench: $(STAMP)
	PYTHONPATH=tests $(BIN)/python benchmarks/bench_training.py

# The trainer against model.fit, statistically (83 min on 2 cores with two processes, the measured run of
# benchmarks/EQUIVALENCE.md; EQUIVALENCE_ARGS to shorten, see -h). Writes benchmarks/EQUIVALENCE.md, committed
# with its date and machine.
EQUIVALENCE_JOBS ?= 2
equivalence: $(STAMP)
	PYTHONPATH=tests $(BIN)/python benchmarks/equivalence.py --jobs $(EQUIVALENCE_JOBS) $(EQUIVALENCE_ARGS)

# The paired one-epoch checks again with oneDNN limited to AVX2, after printing the CPU's vector extensions:
# the tolerance each check measures must hold whatever instructions the kernels use.
trainer-avx2: $(STAMP)
	@echo "CPU: $$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
	@echo "vector extensions: $$(grep -m1 -o -w 'avx2\|avx512f\|avx512_bf16\|avx512_fp16\|amx_tile' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')"
	ONEDNN_MAX_CPU_ISA=AVX2 $(BIN)/python -m pytest tests/test_fast.py -k "one_epoch or drift" -rA -p no:nbval -o addopts="-p no:cacheprovider"

# Re-execute the solution notebooks in place, so the outputs nbval compares against are current.
solutions-outputs: $(STAMP)
	for nb in solutions/*/*.ipynb; do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	done

# The rendered course, offline: one HTML page per notebook (prose, figures, demonstration outputs; no solution
# or hidden test) and an index, in build/site (tools/build_site.py).
# MathJax 3 for the pages, from the npm registry (pinned); without npm the pages load it from its CDN.
MATHJAX := build/mathjax/es5/tex-chtml-full.js
$(MATHJAX):
	mkdir -p build/mathjax
	cd build && npm pack --silent mathjax@3.2.2 && tar -xzf mathjax-3.2.2.tgz -C mathjax --strip-components=1 && rm mathjax-3.2.2.tgz
site: $(STAMP)
	@command -v npm >/dev/null && $(MAKE) --no-print-directory $(MATHJAX) || echo "npm not found: the pages will load MathJax from its CDN"
	$(BIN)/python tools/build_site.py --out build/site --mathjax $(dir $(MATHJAX))

# The browser tests (tests/test_browser.py): the site and the student JupyterLab in headless Chromium, driven by
# Selenium; screenshots in build/screenshots/. As root it installs Debian's chromium and chromium-driver.
test-browser: $(STAMP)
	@if [ "$$(id -u)" = 0 ] && ! command -v chromedriver >/dev/null && command -v apt-get >/dev/null; then \
		apt-get update -o DPkg::Lock::Timeout=600 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 chromium chromium-driver; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/browser-requirements.txt -c constraints.txt
	$(MAKE) --no-print-directory $(MATHJAX)
	$(BIN)/python -m pytest -m browser -p no:nbval -o addopts="-p no:cacheprovider --strict-markers" -rA tests/test_browser.py

# What Binder would build from the student edition (tests/test_binder.py): repo2docker, in its own venv
# (.venv-binder, tests/binder-requirements.txt), writes the Dockerfile without building it (no Docker needed).
BINDER_VENV := .venv-binder
test-binder: $(STAMP)
	test -x $(BINDER_VENV)/bin/python || $(PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/binder-requirements.txt
	REPO2DOCKER=$(abspath $(BINDER_VENV))/bin/repo2docker $(BIN)/python -m pytest -m binder -p no:nbval \
		-o addopts="-p no:cacheprovider --strict-markers" -rA tests/test_binder.py

# README's results table, copied from the executed source notebooks' cells tagged readme-results.
readme: $(STAMP)
	$(BIN)/python tools/readme_results.py

# Every source notebook executed on Colab's stack (tests/colab/requirements.txt: Python 3.12, TensorFlow 2.20,
# Keras 3.13, ...) in .venv-colab, the helpers installed on top as Colab's setup cell does. Needs a python3.12
# (on PATH or under pyenv; COLAB_PYTHON=/path/to/python3.12 to choose one); without one it says so and skips.
COLAB_PYTHON ?= $(firstword $(foreach p,python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12),\
	$(shell $(p) -c "import sys; print(sys.executable)" 2>/dev/null)))
COLAB_VENV := .venv-colab
test-colab:
	@if [ -z "$(COLAB_PYTHON)" ] || ! $(COLAB_PYTHON) -c "" 2>/dev/null; then \
		echo "test-colab SKIPPED: no working python3.12 (set COLAB_PYTHON)"; exit 0; fi; \
	set -e; test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV); \
	$(COLAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/colab/requirements.txt; \
	$(COLAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c tests/colab/requirements.txt -e ./helpers; \
	PATH=$(abspath $(COLAB_VENV))/bin:$$PATH $(COLAB_VENV)/bin/python tests/colab/run_canary.py

# --- For instructors (see README) -------------------------------------------------------------
# Stamp course.toml's address and tag into the sources' badges and setup cells (tools/stamp.py), then
# regenerate notebooks/ with nbgrader.
release: $(STAMP)
	$(BIN)/python tools/stamp.py
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; done
	$(BIN)/python -m grading.release $(ASSIGNMENTS)  # the helpers each release uses, for grading (notebooks/.helpers-release.json)

# The student edition as its own git history in DEST, tagged with course.toml's tag (tools/publish.py):
# released notebooks, helpers, learner README, licence, environment files; never solutions or grading.
# PUBLISH="01-theory 02-baseline" publishes some notebooks only (release order: see README).
publish: release
	test -n "$(DEST)" || { echo "usage: make publish DEST=folder [PUBLISH='01-theory 02-baseline']"; exit 2; }
	$(BIN)/python tools/publish.py "$(DEST)" $(if $(PUBLISH),--assignments $(PUBLISH))

# Grade everything under submitted/<student>/<assignment>/ (repair, sandbox, limits; JOBS submissions at once, on
# a Dask LocalCluster; SCHEDULER=tcp://host:8786 grades on an existing Dask cluster's workers instead).
# GRADING_ARGS passes more options, e.g. GRADING_ARGS="--timeout 120 02-baseline" (python -m grading.autograde -h).
autograde: $(STAMP) sandbox
	$(BIN)/python -m grading.autograde --jobs $(JOBS) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(GRADING_ARGS)

# HTML feedback per student under feedback/, hidden test code removed, grading notes on top.
feedback: $(STAMP)
	$(BIN)/python -m grading.feedback

# The gradebook as grades.csv; FORMAT=canvas or FORMAT=moodle writes that LMS's import layout instead
# (one row per student, empty cells for "not submitted").
FORMAT ?= long
grades: $(STAMP)
	$(BIN)/python -m grading.grades --format $(FORMAT) --to $(if $(filter long,$(FORMAT)),grades.csv,grades-$(FORMAT).csv)

# Grading kernels run in bubblewrap (grading/sandbox.py). As root on Debian/Ubuntu this installs it with apt;
# elsewhere it says how, and grading still runs, with a loud warning in every report.
sandbox: $(STAMP)
	@if command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -q && apt-get install -y -q bubblewrap; } \
			|| echo "*** could not install bubblewrap with apt: grading kernels will NOT be isolated ***"; \
	else \
		echo "*** bubblewrap (bwrap) is missing: grading kernels will NOT be isolated. Install it (Debian/Ubuntu: sudo apt-get install bubblewrap) ***"; \
	fi
	@$(BIN)/python -m grading.sandbox --check || echo "*** grading kernels will NOT be isolated here (see above) ***"

clean:
	rm -rf source_with_tests autograded feedback gradebook.db grades.csv grades-canvas.csv grades-moodle.csv .pytest_cache
