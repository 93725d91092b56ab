"""Schemathesis against the OpenAPI spec: no 5xx and no response outside the schema.

Bounded: a few generated requests per operation (~45 operations), as a care
co-ordinator with a care team to act in and as an administrator. The operations
are driven through schemathesis's Hypothesis strategies directly (its pytest
fixture loader does not work with pytest 9).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from care_world import MRS_JONES, World, join_teams
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# More for a deeper local run: CAREWEAVE_SCHEMATHESIS_EXAMPLES=50.
EXAMPLES_PER_OPERATION = int(os.environ.get("CAREWEAVE_SCHEMATHESIS_EXAMPLES", "5"))


@pytest.mark.parametrize("who", ["cc", "admin"])
def test_api_has_no_server_errors_or_schema_violations(world: World, who: str) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    schema = schemathesis.openapi.from_asgi("/openapi.json", w.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 40
    headers = w.h(who)
    calls: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)
            calls.append(1)

        check()
    assert len(calls) >= 2 * len(operations)
