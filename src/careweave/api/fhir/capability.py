"""What the FHIR endpoint serves, declared once: the router checks search parameters
against it and ``/fhir/metadata`` publishes it (a test checks both against the routes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from careweave import __version__
from careweave.api.fhir.resources import PROFILES, validated


@dataclass(frozen=True)
class Served:
    interactions: tuple[str, ...]
    # search parameter -> FHIR search-param type
    search: dict[str, str]
    versioning: str = "no-version"
    update_needs_if_match: bool = False
    # ``_include`` values served, e.g. ``ServiceRequest:patient``.
    includes: tuple[str, ...] = ()
    profile: str | None = None
    # Operations on the type: (name, canonical OperationDefinition), e.g. Bulk Data export.
    operations: tuple[tuple[str, str], ...] = ()


# Result parameters every search takes.
COMMON = {"_count": "number", "_offset": "number"}

SERVED: dict[str, Served] = {
    "Patient": Served(
        ("read", "search-type"),
        {
            "identifier": "token",
            "name": "string",
            "birthdate": "date",
            "_id": "token",
            "_lastUpdated": "date",
        },
    ),
    "Organization": Served(
        ("read", "search-type"),
        {"identifier": "token", "name": "string", "_id": "token"},
    ),
    "CarePlan": Served(
        ("read", "vread", "history-instance", "update", "search-type"),
        {
            "patient": "reference",
            "subject": "reference",
            "status": "token",
            "_id": "token",
            "_lastUpdated": "date",
        },
        versioning="versioned-update",
        update_needs_if_match=True,
    ),
}


# System-level interactions served (``POST /fhir`` with a transaction Bundle).
SYSTEM: list[str] = []
# Canonical CapabilityStatements this server also implements (e.g. Bulk Data).
INSTANTIATES: list[str] = []


def register(name: str, served: Served) -> None:
    """Declare a resource type served by a module of its own (with its routes, registered
    together in ``careweave.api.fhir``), so the CapabilityStatement stays true to them.
    A type two modules serve (e.g. reads from one, creates from another) is merged."""
    old = SERVED.get(name)
    if old is not None:
        interactions = tuple(dict.fromkeys((*old.interactions, *served.interactions)))
        served = Served(
            interactions,
            {**old.search, **served.search},
            versioning=old.versioning if served.versioning == "no-version" else served.versioning,
            update_needs_if_match=old.update_needs_if_match or served.update_needs_if_match,
            includes=tuple(dict.fromkeys((*old.includes, *served.includes))),
            profile=old.profile or served.profile,
            operations=tuple(dict.fromkeys((*old.operations, *served.operations))),
        )
    SERVED[name] = served


def capability_statement(base_url: str) -> dict[str, Any]:
    resources = []
    for name, s in SERVED.items():
        entry: dict[str, Any] = {
            "type": name,
            "interaction": [{"code": i} for i in s.interactions],
            "versioning": s.versioning,
            "readHistory": "vread" in s.interactions,
            "updateCreate": False,
        }
        if "search-type" in s.interactions:
            entry["searchParam"] = [
                {"name": p, "type": t} for p, t in {**s.search, **COMMON}.items()
            ]
        if name in PROFILES or s.profile:
            entry["profile"] = s.profile or PROFILES[name]
        if s.includes:
            entry["searchInclude"] = list(s.includes)
        if s.operations:
            entry["operation"] = [{"name": n, "definition": d} for n, d in s.operations]
        if s.update_needs_if_match:
            entry["conditionalUpdate"] = False
        resources.append(entry)
    return validated(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": dt.date.today().isoformat(),
            "kind": "instance",
            "software": {"name": "Careweave", "version": __version__},
            "implementation": {"description": "Careweave FHIR R4 API", "url": base_url},
            **({"instantiates": INSTANTIATES} if INSTANTIATES else {}),
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Every access needs a legitimate relationship with the "
                    "person (or break-glass) and is audited; see docs/fhir.md.",
                    "security": {
                        "description": "Authorization: Bearer <token> from POST /auth/tokens."
                    },
                    "resource": resources,
                    **({"interaction": [{"code": c} for c in SYSTEM]} if SYSTEM else {}),
                }
            ],
        }
    )
