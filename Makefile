# The two entry points of the README: `make demo` and `make test`.
# Each creates the virtualenv on first use, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench dist clean

$(BIN)/junit2af: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/junit2af
	$(BIN)/junit2af demo

test: $(BIN)/junit2af
	$(BIN)/python -m ruff check junit2af tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -n 3 --dist worksteal

lint: $(BIN)/junit2af
	$(BIN)/python -m ruff check junit2af tests benchmarks
	$(BIN)/python -m ruff format --check junit2af tests benchmarks

bench: $(BIN)/junit2af
	$(BIN)/python benchmarks/parse_bench.py

# A wheel and an sdist in dist/ (what CI jobs install: see docs/ci/). `build` builds them in
# an isolated environment with the build requirements of pyproject.toml, from the registry.
dist: $(BIN)/junit2af
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	@ls dist

clean:
	rm -rf $(VENV) build *.egg-info
