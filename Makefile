# The two entry points of the README: `make demo` and `make test`.
# Each creates the virtualenv on first use, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench dist clean

$(BIN)/junit2af: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/junit2af
	$(BIN)/junit2af demo

test: $(BIN)/junit2af
	$(BIN)/python -m ruff check junit2af tests benchmarks
	@# mypy (one core for ~10 s) runs beside the tests, which leave a core idle at times;
	@# both must pass, and mypy's report is printed after the tests'.
	$(BIN)/python -m mypy > $(VENV)/mypy.out 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -q -n 3 --dist worksteal; tests=$$?; \
	wait $$mypy; types=$$?; cat $(VENV)/mypy.out; \
	test $$tests -eq 0 && test $$types -eq 0

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
