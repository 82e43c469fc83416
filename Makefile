# QuantDesk: `make run` (set up + run the main job), `make test` (set up + run the tests).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test test-services bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/quantdesk up

test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile

# The tests that touch the database or the bus, again on PostgreSQL with the Redis bus on (tests/conftest.py).
# Left out: pure numerics (indicators, fast path, research...) and CLI acceptance files without runs or bots.
SERVICE_TESTS := tests/integration tests/unit/paper tests/unit/monitoring tests/unit/core tests/unit/cli \
	tests/acceptance/test_backtest_cli.py tests/acceptance/test_optimize_cli.py tests/acceptance/test_research_cli.py
test-services: $(STAMP)
	QD_TEST_DATABASE=postgres QD_TEST_REDIS=1 $(PY) -m pytest -n auto --dist loadfile $(SERVICE_TESTS)

# `make bench` (full, 1M bars) or `make bench BENCH_ARGS=--quick`
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

# ruff, the layer contract ([tool.importlinter]) and the types ([tool.mypy]: strict for model/engine/simulation/risk)
# on this checkout's sources; mypy keeps an incremental cache in .mypy_cache
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	PYTHONPATH=src $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .quantdesk .pytest_cache .mypy_cache
