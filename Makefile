# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --compile -e '.[dev,demo]'
	touch $@

setup: $(BIN)/.installed
	@# PYTHONDONTWRITEBYTECODE is set on these machines: compile the project once so tests do not run 3x slower
	@$(BIN)/python -m compileall -q bot checks handlers tests >/dev/null

demo: setup
	$(BIN)/sesbot demo

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/why.py
	$(BIN)/python benchmarks/check.py

clean:
	rm -rf $(VENV) demo-output benchmarks/out
