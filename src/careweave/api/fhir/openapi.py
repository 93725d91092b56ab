"""Honest OpenAPI for ``/fhir``: each search route declares the query parameters the
CapabilityStatement says it takes (``capability.SERVED``), with their FHIR types as
schemas, so the OpenAPI document (``/openapi.json``) and the tools that read it
(schemathesis in the tests, client generators) see what is served.

The search handlers read ``request.query_params`` themselves (FHIR parameters have
names like ``_lastUpdated`` and ``onset-date``, and any other parameter must be a 400,
not ignored), so FastAPI cannot infer them: they are declared here, from the one table
the router checks them against.
"""

from __future__ import annotations

import re
from typing import Any

from careweave.api.fhir.capability import COMMON, SERVED
from careweave.api.fhir.outcome import PREFIX
from careweave.api.fhir.search import FORMAT_OK, MAX_COUNT, MAX_OFFSET

#: the values ``search.date_range`` accepts (a prefix, then a year, month or day).
DATE_PATTERN = r"^(eq|gt|lt|ge|le)?[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"
SEARCH_PATH = re.compile(re.escape(PREFIX) + r"/([A-Z][A-Za-z]+)$")
DESCRIPTIONS = {
    "token": "FHIR token: [system|]code; comma-separated for any of several",
    "reference": "FHIR reference: Type/id, id or a full URL",
    "string": "FHIR string: a prefix, case-insensitive",
    "date": "FHIR date: [eq|ge|gt|le|lt]YYYY[-MM[-DD]]; repeat for a range",
}


def _schema(name: str, kind: str) -> dict[str, Any]:
    if name == "_count":
        return {"type": "integer", "minimum": 1, "maximum": MAX_COUNT}
    if name == "_offset":
        return {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
    if kind == "date":
        return {"type": "string", "pattern": DATE_PATTERN}
    return {"type": "string", "minLength": 1}


def search_parameters(resource: str) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of a search of ``resource``."""
    served = SERVED[resource]
    out = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": DESCRIPTIONS.get(kind, f"FHIR {kind}"),
            "schema": _schema(name, kind),
        }
        for name, kind in {**served.search, **COMMON}.items()
    ]
    if served.includes:
        out.append(
            {
                "name": "_include",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(served.includes)},
            }
        )
    out.append(
        {
            "name": "_format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": sorted(FORMAT_OK)},
        }
    )
    return out


def declare(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (the app's OpenAPI document) with every FHIR search
    (``GET /fhir/<Type>``) given its parameters; changed in place, and returned."""
    for path, operations in schema.get("paths", {}).items():
        m = SEARCH_PATH.fullmatch(path)
        get = operations.get("get")
        if m is None or get is None or m.group(1) not in SERVED:
            continue
        if "search-type" in SERVED[m.group(1)].interactions:
            get["parameters"] = search_parameters(m.group(1))
    return schema
