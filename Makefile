# Entry points. `make demo` runs the main job (a full journey on the local stack); `make test` runs every check.
# Both install what they need on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell dev/find-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-parse.txt requirements-dev.txt

.PHONY: help install up down reset status demo test test-fast lint typecheck infra-check bench bench-load stage clean

help:
	@echo "make demo   - start the local stack (if needed) and run a full journey"
	@echo "make test   - lint, type-check, every test tier against the emulators, offline infra checks"
	@echo "make up | down | status - the local stack (it keeps its data);  make reset - stop it and start empty"
	@echo "make bench - benchmarks;  make bench-load - concurrent users through the gateway;  make stage - build function sources"

$(STAMP): $(REQS)
	@test -n "$(PYTHON)" || { echo "No Python 3.12 found (see the message above)."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)
	@$(PY) -m dev.prereqs

up: install
	$(PY) -m dev.stack up

down:
	@if [ -x $(PY) ]; then $(PY) -m dev.stack down; else echo "nothing to stop"; fi

reset:
	@if [ -x $(PY) ]; then $(PY) -m dev.stack reset; else rm -rf .local/data; fi

status: install
	$(PY) -m dev.stack status

demo: install
	$(PY) -m dev.demo

lint: install
	$(PY) -m ruff check shared functions dev tests bench
	$(PY) -m mypy

typecheck: lint

test: install lint
	$(PY) -m pytest -p no:cacheprovider --ignore=tests/infra
	bash dev/check_infra.sh

test-fast: install
	$(PY) -m pytest -p no:cacheprovider -m "not stack"

infra-check: install
	bash dev/check_infra.sh

bench: install
	$(PY) -m bench.ingest
	$(PY) -m bench.parse

bench-load: install
	$(PY) -m bench.load

stage: install
	$(PY) -m dev.stage

clean: down
	rm -rf build .local/logs
