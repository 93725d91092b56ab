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
(tests/web/conftest.py). Two more rules, so that a costly fixture is built once and not
once on each worker (an ungrouped test goes to whichever worker is free):

- the tests of a module that use a module-scoped fixture (the module's own, or
  tests/web's ``demo_db`` and ``app``) are one group, ``module:<path>`` (e.g.
  ``module:tests/test_synth_identity``, whose 8,000 generated people were generated on
  both workers, as was test_evaluate_cli.py's 8,000-person warehouse);
- the tests that use one of the session fixtures in :data:`SHARED_SESSION_FIXTURES` (built
  once per worker, e.g. the 12,000-person simulated warehouse and its trained model) are
  one group named after it, except the Spark ones, which stay in ``spark``.

A group runs in collection order, the order of a run without xdist.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["xdist_groups"]  # the xdist_group marks, honoured (tests/xdist_groups.py)


#: Session fixtures of the test tree worth building on one worker only: fixture -> group.
SHARED_SESSION_FIXTURES = {"sim_warehouse": "risk-sim", "fhir_demo": "fhir-demo"}


def fixture_group(item: pytest.Item) -> str | None:
    """The group a test joins for its fixtures (module docstring), or None."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in info.names_closure:
        if name in SHARED_SESSION_FIXTURES:
            return SHARED_SESSION_FIXTURES[name]
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        if defs and defs[-1].scope == "module":
            return "module:" + item.nodeid.split("::")[0].removesuffix(".py")
    return None


@pytest.hookimpl(tryfirst=True)  # before the groups go into the node ids (xdist_groups.py)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        if item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))
        elif not item.get_closest_marker("browser"):  # browser: by module (tests/web/conftest.py)
            group = fixture_group(item)
            if group is not None:
                item.add_marker(pytest.mark.xdist_group(group))


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
