# Netwright: `make run` opens the designer, `make test` runs the suite.
# Both create ./.venv with the pinned dependencies on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-all bench screenshots docs lint check clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned in constraints.txt to the local CPU wheel; unpinned it pulls GBs of CUDA.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: install
	$(BIN)/netwright $(FILE)

test: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 --dist loadfile

test-all: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "" -n 2 --dist loadfile

bench: install
	$(BIN)/python bench/run_all.py

screenshots: install
	$(BIN)/python scripts/screenshots.py

docs: install
	$(BIN)/python -m graph_compiler.docgen

lint: install
	$(BIN)/ruff check graph_compiler designer tests bench

# Lint, the architecture contracts (pyproject.toml, [tool.importlinter]) and the types
# ([tool.mypy]: strict on graph_compiler). Caches live in .venv: a warm run takes seconds.
check: lint
	$(BIN)/lint-imports --no-logo --cache-dir $(VENV)/.import_linter_cache
	$(BIN)/mypy --cache-dir $(VENV)/.mypy_cache

clean:
	rm -rf $(VENV) build *.egg-info
