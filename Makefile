# HemoScope: `make run` starts the app, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
ARGS   ?=

.PHONY: run test lint typecheck contracts pytest bundle clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.runtime: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(VENV)/bin/hemoscope $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check hemoscope tests benchmarks

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

contracts: $(VENV)/.dev
	$(VENV)/bin/lint-imports

pytest: $(VENV)/.dev
	$(PY) -m pytest

test: lint typecheck contracts pytest

bundle: $(VENV)/.dev
	$(VENV)/bin/pyinstaller packaging/hemoscope.spec --distpath dist --workpath build -y --log-level WARN

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
