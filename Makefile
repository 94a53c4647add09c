# HemoScope: `make run` starts the app, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
ARGS   ?=
# pip also looks in packaging/wheels/, which holds the station's own OpenCV build
# (packaging/opencv/build-wheel.sh); pip prefers it to PyPI's where the platform matches.
WHEELS := $(wildcard packaging/wheels/*.whl)
INSTALL := $(PIP) install --find-links packaging/wheels

.PHONY: run test lint typecheck contracts pytest bundle bundle-check bench-bundle clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.runtime: pyproject.toml $(WHEELS) | $(PY)
	$(INSTALL) -e . --upgrade opencv-python-headless
	touch $@

$(VENV)/.dev: pyproject.toml $(WHEELS) | $(PY)
	$(INSTALL) -e ".[dev]" --upgrade opencv-python-headless
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(VENV)/bin/hemoscope $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check hemoscope tests benchmarks packaging
	$(VENV)/bin/ruff format --check hemoscope tests benchmarks packaging

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

contracts: $(VENV)/.dev
	$(VENV)/bin/lint-imports

pytest: $(VENV)/.dev
	$(PY) -m pytest

test: lint typecheck contracts pytest bundle-check

# The offline bundle: dist/HemoScope/ (onedir), or with ONEFILE=1 dist/hemoscope-onefile.
ONEFILE ?=
bundle: $(VENV)/.dev
	HEMOSCOPE_ONEFILE=$(ONEFILE) $(VENV)/bin/pyinstaller packaging/hemoscope.spec \
		--distpath dist --workpath build/$(if $(filter-out 0,$(ONEFILE)),onefile,onedir) \
		-y --log-level WARN

# Build the bundle, then check it against the source tree (packaging/check_bundle.py).
bundle-check: bundle
	$(PY) packaging/check_bundle.py dist/HemoScope

bench-bundle: bundle
	$(PY) benchmarks/bench_bundle.py dist/HemoScope

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
