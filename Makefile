# The two commands a newcomer needs (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup serve test lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

serve: setup
	$(VENV)/bin/priorauth serve

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

test: setup lint
	$(VENV)/bin/priorauth policy test
	$(VENV)/bin/pytest -q
