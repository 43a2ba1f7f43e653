# Two commands set everything up on a fresh machine:
#   make run    -> a venv with mltrail and the server extra, then the tracking server on sqlite:///mltrail.db
#                  + ./mltrail-artifacts (http://127.0.0.1:5000)
#   make test   -> a venv with the dev extras (torch CPU, transformers, ...), then the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
SERVER_STAMP := $(VENV)/.installed-server

.PHONY: run test lint bench venv ui

# The web UI (ui/, TypeScript) is built into src/mltrail/server/static/ when Node/npm are present; without
# them the build is skipped and `mltrail server` answers `/` with how to build it.
UI_BUILT := src/mltrail/server/static/index.html
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/package.json ui/package-lock.json ui/vite.config.ts ui/tsconfig.json

$(UI_BUILT): $(UI_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
		{ test ui/node_modules/.package-lock.json -nt ui/package-lock.json || npm --prefix ui ci --no-audit --no-fund; } \
		&& npm --prefix ui run build; \
	else \
		echo "Node.js/npm not found: skipping the web UI build (later: npm --prefix ui ci && npm --prefix ui run build)"; \
	fi

ui: $(UI_BUILT)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(SERVER_STAMP): pyproject.toml | $(BIN)/python ui
	$(BIN)/python -m pip install -q -e ".[server,postgres,mysql]"
	touch $(SERVER_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python ui
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP) $(SERVER_STAMP)

venv: $(STAMP)

run: $(SERVER_STAMP)
	$(BIN)/mltrail server

test: $(STAMP)
	if command -v npm >/dev/null 2>&1; then npm --prefix ui test; fi
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	bash bench/setup.sh && $(BIN)/python bench/tracking_store.py
