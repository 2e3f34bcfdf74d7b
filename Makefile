# The two entry points of the README: `make demo` and `make test`.
# Each creates the virtualenv on first use, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/junit2af: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/junit2af
	$(BIN)/junit2af demo

test: $(BIN)/junit2af
	$(BIN)/python -m ruff check junit2af tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(BIN)/junit2af
	$(BIN)/python -m ruff check junit2af tests benchmarks
	$(BIN)/python -m ruff format --check junit2af tests benchmarks

bench: $(BIN)/junit2af
	$(BIN)/python benchmarks/parse_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
