# The two README commands, and the checks a newcomer would guess.
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/safeguard: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

.PHONY: run test lint bench
run: $(BIN)/safeguard
	$(BIN)/safeguard up

test: $(BIN)/safeguard
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(BIN)/safeguard
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/safeguard
	$(BIN)/python bench/bench_relay.py
	$(BIN)/python bench/bench_consumer.py
	$(BIN)/python bench/bench_e2e.py
	$(BIN)/python bench/bench_review.py --events 100000
