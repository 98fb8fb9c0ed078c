# One entry point per job; each creates .venv itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The feature extras bring the frameworks; adapters-test pins them to the tested releases.
EXTRAS := dev,postgres,cli,openai-agents,langchain,adk,adapters-test,server,server-test

.PHONY: run test check lint stress bench bench-quick clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

venv: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/python -m sessiondb.demo --serve

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict src
	$(BIN)/python scripts/gen_aio.py --check
	$(BIN)/python scripts/gen_cli_docs.py --check

check: lint test

stress: $(BIN)/.installed
	SESSIONDB_STRESS=1 $(BIN)/python -m pytest -q tests/reliability

# Benchmarks make their own venv (benchmarks/.venv) with the peers; see benchmarks/README.md.
bench:
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

bench-quick:
	$(PYTHON) benchmarks/run.py --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
