# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run migrate seed test lint bench soak clean

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

test: install lint
	$(PY) -m pytest

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
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
