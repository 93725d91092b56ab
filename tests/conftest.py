"""Shared fixtures.

``pg_url``: the throwaway PostgreSQL server that `make test` starts
(scripts/pg-throwaway.sh) exports CAREWEAVE_TEST_PG_URL. Tests that need it
fail, never skip, when it is missing: run them through `make test`, or start
one by hand with ``eval "$(bash scripts/pg-throwaway.sh start /tmp/pg)"``.
"""

from __future__ import annotations

import os

import pytest


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
