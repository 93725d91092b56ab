"""Shared fixtures.

``pg_url``: the throwaway PostgreSQL server that `make test` starts
(scripts/pg-throwaway.sh) exports CAREWEAVE_TEST_PG_URL. Tests that need it
fail, never skip, when it is missing: run them through `make test`, or start
one by hand with ``eval "$(bash scripts/pg-throwaway.sh start /tmp/pg)"``.

xdist groups (scripts/run-tests.sh runs ``-n 2 --dist loadgroup``; tests/xdist_groups.py
makes pytest-xdist honour them under pytest 9.2): every
``@pytest.mark.spark`` test without a group of its own joins the ``spark`` group, so
one worker starts the one local SparkSession (a JVM: tens of seconds of CPU and 2 GB to
start) and the other worker never does; browser modules are grouped by module
(tests/web/conftest.py).
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["xdist_groups"]  # the xdist_group marks, honoured (tests/xdist_groups.py)


@pytest.hookimpl(tryfirst=True)  # before the groups go into the node ids (xdist_groups.py)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("CAREWEAVE_TEST_PG_URL")
    if not url:
        pytest.fail(
            "CAREWEAVE_TEST_PG_URL is not set: run the suite with `make test`, which "
            "starts a throwaway PostgreSQL (scripts/pg-throwaway.sh)."
        )
    return url


@pytest.fixture(autouse=True, scope="session")
def validate_fhir_output() -> None:
    """Every FHIR resource the server builds in any test is checked against its R4B
    model before it is served (off when serving: api/fhir/resources.VALIDATE_OUTPUT)."""
    from careweave.api.fhir import resources

    resources.VALIDATE_OUTPUT = True
