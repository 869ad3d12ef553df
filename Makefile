# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Load the demo county and open the console chat as `member`.
demo: install
	$(PY) -m bot demo
	$(PY) -m bot console --user member

## Run every test (SQLite; set DATABASE_URL=postgresql://... to run them on PostgreSQL).
test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

## Skip the end-to-end and slow tests while iterating.
test-fast: install
	$(PY) -m pytest -m "not e2e and not slow"

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) data/*.db data/*.db-*
