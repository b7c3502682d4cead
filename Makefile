# The two commands a newcomer needs: `make book` and `make test`.
# Everything is installed into .venv from requirements.txt (exact pins).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The experiment profile the book executes: smoke | default | paper.
PROFILE ?= default
# Offline data: use the shared copy beside the checkout when it exists.
ifneq ($(wildcard ../shared/data),)
DEPTHINIT_DATA ?= $(abspath ../shared/data)
export DEPTHINIT_DATA
endif

.PHONY: install test lint book execute chapter html mathjax pdf check-book bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# TEST_JOBS pytest-xdist workers (one torch thread each); TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_JOBS)

# ruff (lint, the notebooks included) and mypy, configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Execute every chapter with papermill into book/_executed/, then build the site.
# JOBS runs independent chapters in parallel (each with cores/JOBS threads, longest budget first).
# On the 2-core CI machine JOBS=2 is no faster (each chapter took twice as long), so one at a
# time is the default; the run prints every chapter's time against its budget and fails past
# twice the budget.
JOBS ?= 1
book: execute html

execute: $(STAMP)
	$(PY) scripts/run_notebooks.py --profile $(PROFILE) --jobs $(JOBS)

# Re-execute one chapter and rebuild the site, e.g.
#   make chapter NAME=e5_sensitivity ARGS="-p profile smoke"
# ARGS go to scripts/run_notebooks.py (-p NAME VALUE sets a parameter of the chapter).
# Chapters never executed in this checkout get a placeholder page, so this works on a
# fresh clone.
NAME ?=
ARGS ?=
chapter: $(STAMP)
	@test -n "$(NAME)" || { echo 'usage: make chapter NAME=<chapter> [ARGS="-p profile smoke"]'; exit 2; }
	$(PY) scripts/run_notebooks.py --profile $(PROFILE) --missing stub --no-bench $(ARGS) $(NAME)
	$(MAKE) html

html: $(STAMP) mathjax
	$(VENV)/bin/jupyter-book build . --all -W -n --keep-going

# MathJax is served from the built site, not a CDN, so the book renders offline.
# A pinned release is fetched once from the npm registry (checksum verified) into
# book/_static/mathjax/ (ignored by git); _config.yml's mathjax_path points there.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR := book/_static/mathjax
MATHJAX_STAMP := $(MATHJAX_DIR)/.mathjax-$(MATHJAX_VERSION)

mathjax: $(MATHJAX_STAMP)

$(MATHJAX_STAMP):
	rm -rf $(MATHJAX_DIR) _build/mathjax-npm
	mkdir -p _build/mathjax-npm $(MATHJAX_DIR)
	cd _build/mathjax-npm && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	echo "$(MATHJAX_SHA256)  _build/mathjax-npm/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c --quiet
	tar -xzf _build/mathjax-npm/mathjax-$(MATHJAX_VERSION).tgz -C _build/mathjax-npm
	cp -R _build/mathjax-npm/package/es5/. $(MATHJAX_DIR)/
	cp _build/mathjax-npm/package/LICENSE $(MATHJAX_DIR)/LICENSE
	rm -rf _build/mathjax-npm
	touch $@

# The whole book as one PDF, offline: headless Chromium prints the built site (after
# `make book`) to _build/pdf/depthinit.pdf and copies it to _build/html/depthinit.pdf, the
# target of the site's .pdf button (depthinit_pdf in _config.yml).
pdf: $(STAMP)
	$(PY) scripts/book_pdf.py _build/html --out _build/pdf/depthinit.pdf

# Every built page in headless Chromium (scripts/check_book.py's docstring lists the rules;
# e.g. CHECK_BOOK_FLAGS="--download-pages 'results.*'" changes which pages need a CSV).
CHECK_BOOK_FLAGS ?=
check-book: $(STAMP)
	$(PY) scripts/check_book.py _build/html $(CHECK_BOOK_FLAGS)

bench: $(STAMP)
	$(PY) -m depthinit.cli bench

clean:
	rm -rf _build book/_executed
