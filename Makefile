# Two commands set everything up on a fresh machine:
#   make run    -> a venv with mltrail and the server extra, then the tracking server on sqlite:///mltrail.db
#                  + ./mltrail-artifacts (http://127.0.0.1:5000)
#   make test   -> a venv with the dev extras (torch CPU, transformers, ...), then the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
SERVER_STAMP := $(VENV)/.installed-server

.PHONY: run test lint bench venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[server,postgres,mysql]"
	touch $(SERVER_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP) $(SERVER_STAMP)

venv: $(STAMP)

run: $(SERVER_STAMP)
	$(BIN)/mltrail server

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	bash bench/setup.sh && $(BIN)/python bench/tracking_store.py
