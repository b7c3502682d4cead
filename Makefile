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

.PHONY: install test book execute html check-book bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

# Execute every chapter with papermill into book/_executed/, then build the site.
book: execute html

execute: $(STAMP)
	$(PY) scripts/run_notebooks.py --profile $(PROFILE)

html: $(STAMP)
	$(VENV)/bin/jupyter-book build . --all -W -n --keep-going

check-book: $(STAMP)
	$(PY) scripts/check_book.py _build/html

bench: $(STAMP)
	$(PY) -m depthinit.cli bench

clean:
	rm -rf _build book/_executed
