"""FHIR errors: every failure on ``/fhir`` is an OperationOutcome with its HTTP status.

The care core raises its usual domain errors (403 no relationship, 404, 409, 422); the
app's exception handlers turn them into OperationOutcomes for FHIR paths
(:func:`is_fhir`), so the rules are never written twice.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome
from starlette.requests import Request

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"

# HTTP status -> the OperationOutcome issue code (FHIR issue-type value set).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    422: "processing",
    428: "conflict",
    429: "throttled",
}


class FhirResponse(JSONResponse):
    """JSON as ``application/fhir+json`` (the FHIR JSON media type), serialised by orjson
    (a tenth of the standard library's time for a Bundle)."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class FhirError(Exception):
    """A FHIR-specific refusal (unknown search parameter, stale If-Match, bad resource)."""

    def __init__(self, status: int, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.code = code or ISSUE_CODES.get(status, "processing")


def is_fhir(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def outcome(text: str, status: int, code: str | None = None) -> dict[str, Any]:
    """An OperationOutcome (validated by fhir.resources) as JSON."""
    oo = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": code or ISSUE_CODES.get(status, "processing"),
                    "diagnostics": text,
                }
            ],
        }
    )
    return oo.model_dump(mode="json", exclude_none=True)


def response(text: str, status: int, code: str | None = None) -> FhirResponse:
    return FhirResponse(outcome(text, status, code), status_code=status)
