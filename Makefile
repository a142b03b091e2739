# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run migrate seed test lint bench soak clean web web-deps web-test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The embedded default: SQLite + local media + in-process cache, development secret.
# `make run WORKERS=4` serves with four worker processes (set REDIS_URL for them to share state).
run: install
	ENV=$${ENV:-development} $(PY) manage.py migrate
	ENV=$${ENV:-development} $(PY) manage.py seed
	ENV=$${ENV:-development} $(PY) manage.py serve

migrate: install
	ENV=$${ENV:-development} $(PY) manage.py migrate

# The test files spread over TEST_PROCESSES pytest-xdist workers (each its own MariaDB and Redis
# database); a file's tests stay together, so a module's servers start once.
TEST_PROCESSES ?= 2

test: install lint
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile
	$(MAKE) web-test

# The web client (web/): its built bundle is committed, so `make run` needs no Node. `make web` rebuilds
# it after a change to web/ or to schema/schema.graphql (a schema change that breaks it fails the build).
WEB_DEPS := web/node_modules/.package-lock.json

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_DEPS)

web-deps: $(WEB_DEPS)

web: web-deps
	cd web && npm run build

# Bundle up to date, Vitest, then the browser suite (Debian's chromium against the real server).
web-test: install
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$${REQUIRE_SERVICES:-}" = 1 ]; then echo "the web client's tests need Node and npm" >&2; exit 1; fi; \
	  echo "skipping the web client's tests: Node and npm not found"; exit 0; \
	fi; \
	$(MAKE) web-deps && cd web && npm run check-bundle && npm test && npm run e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m bench

# Two minutes of 50 mixed clients, then a consistency check (not part of `make test`).
soak: install
	$(PY) -m bench.soak

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules
