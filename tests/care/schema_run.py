"""Schemathesis run over an app's OpenAPI, for tests/care/test_care_api_schema.py and
tests/care/test_fhir_schema.py: the operations are driven through schemathesis's
Hypothesis strategies directly (its pytest fixture loader does not work with pytest 9),
a bounded, derandomised number of examples each."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings


def examples_per_operation(default: int) -> int:
    """``default``, or more for a deeper local run: CAREWEAVE_SCHEMATHESIS_EXAMPLES=50."""
    return int(os.environ.get("CAREWEAVE_SCHEMATHESIS_EXAMPLES", str(default)))


def operations(app: Any, path_regex: str | None = None) -> list[Any]:
    """The app's operations from its /openapi.json (those under ``path_regex`` if given)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    if path_regex is not None:
        schema = schema.include(path_regex=path_regex)
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def call_each(
    ops: Sequence[Any],
    headers: dict[str, str],
    checks: Sequence[Callable[..., Any]],
    examples: int,
) -> list[int]:
    """Call every operation ``examples`` times with generated cases, validating each
    response with ``checks``; the status codes of every call, in order."""
    statuses: list[int] = []
    for operation in ops:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=list(checks))
            statuses.append(response.status_code)

        check()
    return statuses
