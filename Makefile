# Two commands do everything: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSTACK := $(PY) infra/devstack.py

.PHONY: chaos jaeger run test install browser infra-up infra-down infra-status lint typecheck unit bench contracts clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

infra-up: install
	@$(DEVSTACK) start

infra-down: install
	@$(DEVSTACK) stop

infra-status: install
	@$(DEVSTACK) status

## make run: install, start Kafka and the store, start the four services and the console, load demo data.
run: install
	@$(PY) -m infra.run

## make test: install, lint, type-check, unit and integration tests; stops what it started.
test: install
	@bash infra/test.sh

## make browser: Debian chromium for the console's browser test (idempotent; apt-get as root).
browser:
	@bash infra/browser.sh

lint: install
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: install
	@$(VENV)/bin/mypy

unit: install
	@$(VENV)/bin/pytest -q tests/unit

contracts: install
	@$(PY) -m shared.contracts write

## make bench [ARGS=--quick]: the system end to end under load; see bench/__main__.py.
## make chaos: the fault matrix on real processes (also run by make test).
chaos: install
	@$(DEVSTACK) start && LT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT $(PY) -m chaos

bench: install
	@$(DEVSTACK) start && LT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT $(PY) -m bench $(ARGS)

## make jaeger: a local Jaeger v2 (built once from the Go module proxy, cached); see infra/jaeger.py.
jaeger: install
	@$(PY) -m infra.jaeger

clean: infra-down
	rm -rf .local
