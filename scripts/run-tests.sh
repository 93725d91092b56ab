#!/usr/bin/env bash
# The whole suite: lint, types, import contracts ([tool.importlinter]), docs in step, then pytest with a throwaway
# PostgreSQL running for the store tests. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
echo "== mypy"
$BIN/mypy
echo "== import contracts"
$BIN/lint-imports

pgdir=$(mktemp -d /tmp/careweave-pg.XXXXXX)
trap 'bash scripts/pg-throwaway.sh stop "$pgdir"' EXIT
eval "$(bash scripts/pg-throwaway.sh start "$pgdir")"
export CAREWEAVE_TEST_PG_URL

echo "== pytest"
$BIN/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
