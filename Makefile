# The two commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install lint bench

$(BIN)/diemtua: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/diemtua

install: $(BIN)/diemtua

# Install, migrate the embedded SQLite database and serve on http://127.0.0.1:8383
serve: install
	$(BIN)/diemtua db upgrade
	$(BIN)/diemtua serve --host $${HOST:-127.0.0.1} --port $${PORT:-8383}

# Install and run every test (SQLite; set DIEMTUA_TEST_DATABASE_URL for PostgreSQL)
test: install
	$(BIN)/ruff check server sync exports xlsforms tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/ingest.py
