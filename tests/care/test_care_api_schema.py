"""Schemathesis against the OpenAPI spec: no 5xx and no response outside the schema.

Bounded: a few generated requests per operation (~45 operations), as a care
co-ordinator with a care team to act in and as an administrator. The operations
are driven through schemathesis's Hypothesis strategies directly
(tests/care/schema_run.py; its pytest fixture loader does not work with pytest 9).
"""

from __future__ import annotations

import pytest
from care_world import MRS_JONES, World, join_teams
from schema_run import call_each, examples_per_operation, operations
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
EXAMPLES_PER_OPERATION = examples_per_operation(5)


@pytest.mark.parametrize("who", ["cc", "admin"])
def test_api_has_no_server_errors_or_schema_violations(world: World, who: str) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    ops = operations(w.client.app)
    assert len(ops) > 40
    calls = call_each(ops, w.h(who), CHECKS, EXAMPLES_PER_OPERATION)
    assert len(calls) >= 2 * len(ops)
