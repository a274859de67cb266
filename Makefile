# Entry points. `make demo` runs the main job (a full journey on the local stack); `make test` runs every check.
# Both install what they need on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell dev/find-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-parse.txt requirements-cli.txt requirements-dev.txt requirements-corpus.txt pyproject.toml
DEV_LOCK := locks/dev.txt

WEB_DEPS := web/node_modules/.package-lock.json
WEB_DIST := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null) shared/api/openapi.json
export CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: help install lock up down reset status demo test test-fast lint typecheck infra-check bench bench-load stage clean web web-check chromium tesseract

help:
	@echo "make demo   - start the local stack (if needed) and run a full journey"
	@echo "make test   - lint, type-check, every test tier against the emulators, offline infra checks"
	@echo "make up | down | status - the local stack (it keeps its data);  make reset - stop it and start empty"
	@echo "make bench - benchmarks;  make bench-load - concurrent users through the gateway;  make stage - build function sources"
	@echo "make lock   - regenerate the hash-locked dependency sets in locks/ after a requirements change"
	@echo "make web    - npm ci and build the browser app (served at /app/);  make chromium - Debian's chromium for its tests"
	@echo "make tesseract - Debian's tesseract-ocr, the OCR engine of the local stack and the tests"

# Installs the locked, hash-checked set (locks/dev.txt: requirements-dev.txt and requirements-corpus.txt), never the
# floating one; `make lock` regenerates the locks.
$(STAMP): $(REQS) $(DEV_LOCK)
	@test -n "$(PYTHON)" || { echo "No Python 3.12 found (see the message above)."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PYTHON) -m dev.lock --check || echo "WARNING: the locks above are stale; installing the old lock (run: make lock)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .  # the ingestctl console script
	@touch $(STAMP)

install: $(STAMP)
	@$(PY) -m dev.prereqs

# Re-resolve every lock whose requirements changed (uv, from its cache where it can); ARGS=--all re-resolves every lock.
lock:
	@test -x $(VENV)/bin/uv || { test -x $(PY) || $(PYTHON) -m venv $(VENV); $(PY) -m pip install --quiet "$$(grep -E '^uv==' requirements-dev.txt | cut -d' ' -f1)"; }
	$(PY) -m dev.lock $(ARGS)
	@rm -f $(STAMP)

up: install web tesseract
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
	$(PY) -m ruff check shared functions dev tests bench ingestctl
	$(PY) -m mypy

typecheck: lint

test: install lint web-check chromium tesseract
	$(PY) -m pytest -p no:cacheprovider --durations=20 --ignore=tests/infra
	bash dev/check_infra.sh

test-fast: install
	$(PY) -m pytest -p no:cacheprovider -m "not stack"

infra-check: install
	bash dev/check_infra.sh

bench: install
	$(PY) -m bench.ingest
	$(PY) -m bench.parse
	$(PY) -m bench.cost
	$(PY) -m bench.journey
	$(PY) -m bench.rpc
	$(PY) -m bench.query

bench-load: install
	$(PY) -m bench.load

stage: install
	$(PY) -m dev.stage

# ---- the browser app (web/) -------------------------------------------------------------------------------------------
# npm ci installs exactly the lock file; the build runs again whenever a source or the OpenAPI document changes.
$(WEB_DEPS): web/package.json web/package-lock.json | $(STAMP)
	@$(PY) -m dev.prereqs --web-build
	cd web && npm ci --no-audit --no-fund

$(WEB_DIST): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_DIST)

# The stale-client check, types, lint (with the no-direct-api-calls rule and its test) and the unit tests.
web-check: $(WEB_DIST)
	cd web && npm run check

# The browser tests drive Debian's chromium; as root it is installed when missing, otherwise we say what to run.
chromium:
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium (apt-get) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "chromium is missing at $(CHROMIUM_PATH): run 'sudo apt-get install chromium' (or set CHROMIUM_PATH=/path/to/chromium)"; exit 1; \
	fi
	@$(PY) -m dev.prereqs --web

# OCR on the local stack and in the tests is Debian's tesseract-ocr (with its English and orientation data); as root it
# is installed when missing, otherwise we say what to run. Production reads scans with Document AI instead.
tesseract:
	@if command -v tesseract >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing tesseract-ocr (apt-get) for OCR on the local stack and in the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd >/dev/null; \
	else \
		echo "tesseract is missing: run 'sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd'"; exit 1; \
	fi
	@$(PY) -m dev.prereqs --ocr

clean: down
	rm -rf build .local/logs web/dist
