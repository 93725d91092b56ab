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
# --dist loadgroup: tests marked @pytest.mark.xdist_group(NAME) run in order on one worker
# (the Spark tests share one JVM; each browser module shares one live server, see
# tests/web/conftest.py); xdist hands out the groups with the most tests first. --durations=30: the
# slowest setups and tests, printed last, so each CI run shows where the time goes.
$BIN/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup --durations=30 "$@"
