# Build and test the farm. `make` builds the web app, the add-on and both zipapps; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEBAPP_DIST := flamenco_pkg/webapp_dist/index.html
ADDON_ZIP := flamenco-addon.zip
PKG_SOURCES := $(shell find flamenco_pkg -type f -not -path '*/__pycache__/*' -not -path 'flamenco_pkg/webapp_dist/*' -not -path 'flamenco_pkg/manager/addon_dist/*')

.PHONY: all venv webapp addon zipapps docs test test-unit bench run clean

all: zipapps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The web UI (Vue 3 + Vite), built into the package so the Manager zipapp carries it.
webapp: $(WEBAPP_DIST)

$(WEBAPP_DIST): $(shell test -d webapp && find webapp -type f -not -path 'webapp/node_modules/*' -not -path 'webapp/dist/*')
	@if [ -f webapp/package.json ]; then \
		command -v node >/dev/null || { echo "Node.js not found: the web UI build needs Node 18.19 or newer (apt-get install nodejs npm)." >&2; exit 1; }; \
		node webapp/scripts/check-node.cjs && \
		cd webapp && npm ci --no-audit --no-fund && npm run build; \
	else \
		mkdir -p flamenco_pkg/webapp_dist && echo '<!doctype html><title>Flamenco</title><p>The web UI is not built into this Manager.</p>' > $(WEBAPP_DIST); \
	fi

# The Blender add-on zip, also embedded in the Manager to serve at /flamenco-addon.zip.
addon: $(ADDON_ZIP)

$(ADDON_ZIP): $(STAMP) $(shell test -d addon && find addon -type f -not -path '*/__pycache__/*')
	@if [ -f addon/build_addon.py ]; then $(PY) addon/build_addon.py; fi
	@touch $(ADDON_ZIP)

zipapps: flamenco-manager.pyz flamenco-worker.pyz
	@$(PY) -c "import os; [print(f'{n}: {os.path.getsize(n) / 1e6:.1f} MB') for n in ('flamenco-manager.pyz', 'flamenco-worker.pyz')]"

flamenco-manager.pyz flamenco-worker.pyz: $(STAMP) $(WEBAPP_DIST) $(ADDON_ZIP) build_zipapp.py pyproject.toml $(PKG_SOURCES)
	$(PY) build_zipapp.py

# Generated documentation: the configuration reference from the settings tree.
docs: $(STAMP)
	$(PY) -m flamenco_pkg.manager.config.reference docs/configuration.md
	$(PY) -m flamenco_pkg.manager.auth.reference docs/auth.md

# Two pytest-xdist processes, one test file each at a time (module-scoped fixtures stay in one process).
# Serially: `make test TEST_JOBS=1` (or pass your own pytest options: `make test PYTEST_ARGS=`).
TEST_JOBS ?= 2
ifeq ($(TEST_JOBS),1)
PYTEST_ARGS ?=
else
PYTEST_ARGS ?= -n $(TEST_JOBS) --dist loadfile
endif

# Bytecode caching on, even where PYTHONDONTWRITEBYTECODE is set: without it every xdist process
# re-does pytest's assertion rewriting and every Manager and Worker the tests start recompiles the package.
test: $(STAMP) zipapps
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q $(PYTEST_ARGS) tests

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(STAMP) zipapps
	$(PY) -m bench

run: $(STAMP) $(WEBAPP_DIST) $(ADDON_ZIP)
	$(PY) flamenco.py farm

clean:
	rm -rf build dist *.pyz $(ADDON_ZIP) flamenco_pkg/webapp_dist flamenco_pkg/manager/addon_dist .pytest_cache
