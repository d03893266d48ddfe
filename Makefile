# Concord: `make run` serves the platform, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
# The pinned npm solc (through contracts/solc-shim) and the hardhat node the ledger tests use.
NODE_DEPS := contracts/node_modules/.package-lock.json
# The portal's browser libraries (htmx), served from frontend/node_modules at pinned versions.
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
CHROMIUM ?= /usr/bin/chromium
# pytest-xdist workers for `make test` (`TEST_WORKERS=0` runs in one process). Each worker has
# its own database (SQLite file or PostgreSQL schema), embedded chain, hardhat node and
# Chromium. Keep xdist's default `load` distribution: with `loadfile`/`loadscope` the
# schemathesis per-operation subtests of tests/api/test_fuzz_openapi.py are not run/reported.
TEST_WORKERS ?= auto

.PHONY: run test test-postgres lint setup browser bench clean

run: $(INSTALLED) $(FRONTEND_DEPS)
	$(BIN)/concord run

test: $(INSTALLED_DEV) $(NODE_DEPS) $(FRONTEND_DEPS) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The same suite against PostgreSQL (a fresh schema per run); CI runs it after `make test`.
test-postgres: $(INSTALLED_DEV) $(NODE_DEPS) $(FRONTEND_DEPS) browser
	CONCORD_TEST_DATABASE_URL=$${CONCORD_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -n $(TEST_WORKERS)

# Lint, format and type checks with zero findings (CI runs them before the tests).
LINTED := platform verifier tests bench migrations
lint: $(INSTALLED_DEV)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

setup: $(INSTALLED)

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit("Concord needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml verifier/pyproject.toml requirements.lock $(VENV)/bin/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements.lock -e verifier
	$(PIP) install --quiet -c requirements.lock -e .
	touch $@

$(INSTALLED_DEV): $(INSTALLED) pyproject.toml requirements.lock
	$(PIP) install --quiet -c requirements.lock -e '.[dev]'
	touch $@

$(NODE_DEPS): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error

$(FRONTEND_DEPS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

# Browser tests drive Debian's Chromium (test tools may not download browsers here).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# Benchmarks print ratios measured side by side in one run (never asserted in tests).
bench: $(INSTALLED_DEV) $(NODE_DEPS)
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/orders.py
	$(BIN)/python bench/chain_restart.py
	$(BIN)/python bench/app_restart.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/provenance.py
	$(BIN)/python bench/finance.py
	$(BIN)/python bench/vmi.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis contracts/node_modules frontend/node_modules
