# Careweave: the two commands a fresh machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test venv dev lint typecheck pytest system-deps docs clean web-assets

## demo: create .venv, install Careweave, run the main job on the embedded synthetic data
demo: $(VENV)/.installed
	$(BIN)/careweave demo

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	bash scripts/build-web-assets.sh --if-missing
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

dev: $(VENV)/.dev-installed

## system-deps: Java (Spark), PostgreSQL server (store tests), Chromium (web tests), from Debian packages
system-deps:
	bash scripts/system-deps.sh

## web-assets: npm ci, then vendor nhsuk-frontend, htmx (src/careweave/web/static) and axe-core (tests/web/vendor)
web-assets:
	bash scripts/build-web-assets.sh

## test: install dev dependencies, start a throwaway PostgreSQL, run lint, types and the whole suite
test: dev system-deps web-assets
	bash scripts/run-tests.sh

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: dev
	$(BIN)/mypy

## docs: regenerate docs/data-model.md and docs/measures.md from the declarations
docs: $(VENV)/.installed
	$(BIN)/python -m careweave.dataset.docs > docs/data-model.md
	$(BIN)/python -m careweave.measures.docs > docs/measures.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
