# Build and test the farm. `make` builds both zipapps; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all venv zipapps test test-unit test-integration bench run clean

all: zipapps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

zipapps: flamenco-manager.pyz flamenco-worker.pyz

flamenco-manager.pyz flamenco-worker.pyz: $(STAMP) build_zipapp.py pyproject.toml $(shell find flamenco_pkg -type f -not -path '*/__pycache__/*')
	$(PY) build_zipapp.py

test: $(STAMP) zipapps
	$(PY) -m pytest -q tests

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(STAMP)
	$(PY) -m bench

run: $(STAMP)
	$(PY) flamenco.py farm

clean:
	rm -rf build dist *.pyz .pytest_cache
