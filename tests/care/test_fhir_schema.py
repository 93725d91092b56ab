"""Schemathesis over the FHIR routes' OpenAPI (``/fhir``, the search parameters declared
from the CapabilityStatement, api/fhir/openapi.py) on the 200-person demo population with
its warehouse: no 5xx for any generated request, every 4xx an OperationOutcome as
``application/fhir+json``, every JSON 2xx body valid as its R4B resource type.

Bounded (4 examples per operation, ~50 operations: under a minute on the shared machine): driven through
schemathesis's Hypothesis strategies directly (tests/care/schema_run.py), as
tests/care/test_care_api_schema.py does. More for a deeper local run: CAREWEAVE_SCHEMATHESIS_EXAMPLES=50.
"""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_warehouse import Demo
from schema_run import call_each, examples_per_operation, operations
from schemathesis.checks import not_a_server_error

FHIR_JSON = "application/fhir+json"
EXAMPLES_PER_OPERATION = examples_per_operation(4)


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return str(value[0] if isinstance(value, list) else value)


def fhir_bodies(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx is an OperationOutcome in FHIR JSON; a JSON 2xx validates as its R4B type."""
    status = response.status_code
    kind = _content_type(response)
    where = f"{case.method} {case.formatted_path}: {status}"
    if 400 <= status < 500:
        assert kind.startswith(FHIR_JSON), f"{where} as {kind!r}, not {FHIR_JSON}"
        body = json.loads(response.content)
        assert body.get("resourceType") == "OperationOutcome", f"{where}: {body}"
        get_fhir_model_class("OperationOutcome").model_validate(body)
    elif 200 <= status < 300 and kind.startswith(FHIR_JSON) and response.content:
        body = json.loads(response.content)
        get_fhir_model_class(body["resourceType"]).model_validate(body)
    return None


def test_fhir_routes_have_no_server_errors_and_answer_in_fhir(fhir_demo: Demo) -> None:
    app = fhir_demo.app()
    ops = operations(app, path_regex="^/fhir")
    assert len(ops) > 45
    searches = [o for o in ops if o.method == "get" and o.path == "/fhir/Encounter"]
    assert {p.name for p in searches[0].query} >= {"patient", "date", "type", "_count"}
    checks = [not_a_server_error, fhir_bodies]
    statuses = call_each(ops, fhir_demo.h("gp.jones"), checks, EXAMPLES_PER_OPERATION)
    assert len(statuses) >= 2 * len(ops)
    # Generated searches reach the handlers (2xx), not only the parameter checks.
    assert sum(200 <= s < 300 for s in statuses) > len(ops)
