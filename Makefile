# The two commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install lint bench bench-unseen translations screenshots contract

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
	$(BIN)/ruff check server sync exports xlsforms tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/ingest.py

# The API contract: schemathesis over every operation of /v1/swagger.json against a live server
# on PostgreSQL with the demo commune (tools/contract.py); no 5xx, every answer as described.
# Needs PostgreSQL on 127.0.0.1:5432 (CONTRACT_DATABASE_URL to use another, dropped first).
contract: install
	$(BIN)/python tools/contract.py $${CONTRACT_DATABASE_URL:+--database-url "$$CONTRACT_DATABASE_URL"}

# Matching on the unseen registry (bench/unseen/): a second evaluation set, never tuned on
bench-unseen: install
	$(BIN)/python bench/unseen_registry.py

# A PNG of every page (demo commune, Vietnamese, 390 and 1366 px) into docs/screenshots/, with
# its README; needs Chromium and chromedriver, as the page tests do
screenshots: install
	$(BIN)/python tools/screenshots.py

# After changing the pages' English (server/web/i18n.py): bring the Vietnamese catalogue in step
# and compile it (docs/translations.md)
translations: install
	$(BIN)/python -m server.web.catalogue update
