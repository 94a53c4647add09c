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

.PHONY: run test lint typecheck contracts pytest bundle bundle-check bench-bundle clean \
	system-deps-run system-deps-bundle system-deps-test

# System packages (Qt's X11/Wayland libraries, fonts, CUPS; the bundle's build tools; the
# test tools): packaging/system_deps.py looks for them at every start (milliseconds when
# all are there) and installs what is missing with apt-get as root on Debian/Ubuntu,
# elsewhere names the command to run and stops. SYSTEM_DEPS=0 skips the check.
SYSTEM_DEPS ?= 1
system-deps-run system-deps-bundle system-deps-test:
	@$(if $(filter-out 0,$(SYSTEM_DEPS)),$(PYTHON) packaging/system_deps.py $(@:system-deps-%=%) --venv $(VENV),:)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.runtime: pyproject.toml $(WHEELS) | $(PY)
	$(INSTALL) -e . --upgrade opencv-python-headless
	touch $@

$(VENV)/.dev: pyproject.toml $(WHEELS) | $(PY)
	$(INSTALL) -e ".[dev]" --upgrade opencv-python-headless
	touch $@ $(VENV)/.runtime

run: system-deps-run $(VENV)/.runtime
	$(VENV)/bin/hemoscope $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check hemoscope tests benchmarks packaging
	$(VENV)/bin/ruff format --check hemoscope tests benchmarks packaging

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

contracts: $(VENV)/.dev
	$(VENV)/bin/lint-imports

pytest: system-deps-test $(VENV)/.dev
	$(PY) -m pytest

test: system-deps-test lint typecheck contracts pytest bundle-check

# The offline bundle: dist/HemoScope/ (onedir), or with ONEFILE=1 dist/hemoscope-onefile.
ONEFILE ?=
bundle: system-deps-bundle $(VENV)/.dev
	HEMOSCOPE_ONEFILE=$(ONEFILE) $(VENV)/bin/pyinstaller packaging/hemoscope.spec \
		--distpath dist --workpath build/$(if $(filter-out 0,$(ONEFILE)),onefile,onedir) \
		-y --log-level WARN

# Build the bundle, then check it against the source tree (packaging/check_bundle.py).
bundle-check: system-deps-test bundle
	$(PY) packaging/check_bundle.py dist/HemoScope

bench-bundle: bundle
	$(PY) benchmarks/bench_bundle.py dist/HemoScope

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
