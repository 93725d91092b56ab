"""``POST /fhir`` with a ``transaction`` Bundle of creates (writes.CREATE), all or nothing.

The entries run in the request's one database transaction: any entry refused rolls back
every other (nothing stored) and the answer is that entry's OperationOutcome, naming it
(``Bundle.entry[2]...``), with its status.

Entries may reference each other by ``fullUrl``: an entry whose ``fullUrl`` is
``urn:uuid:<uuid>`` is referred to by that URN from the others (a ServiceRequest's
``supportingInfo`` naming an Observation of the same Bundle). An entry runs once every
entry it references has been created, so the order in the Bundle does not matter; each
reference is then rewritten to the created ``Type/id`` before the entry is checked and
stored. A reference to a URN no entry has, two entries with one ``fullUrl``, and entries
referencing each other in a circle are a 400 naming the entry. The answer is a
``transaction-response`` Bundle in the request's order, each entry with its
``response.location`` (``Type/id``, with ``/_history/<n>`` and ``etag`` for a versioned
type) and the created resource.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from careweave.api.deps import Context
from careweave.api.fhir import scoping
from careweave.api.fhir.capability import SYSTEM
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.resources import validated
from careweave.api.fhir.router import ERRORS, fhir_body
from careweave.api.fhir.search import base
from careweave.api.fhir.writes import CREATABLE, CREATE, parse_resource
from careweave.security import audit
from careweave.security.errors import DomainError

_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/fhir+json": {"schema": {"type": "object"}}},
    }
}
URN = re.compile(
    r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _references(value: Any) -> list[str]:
    """Every ``reference`` string in a resource's JSON."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _resolved(value: Any, made: dict[str, str]) -> Any:
    """``value`` with each ``reference`` to a created entry's URN as its ``Type/id``."""
    if isinstance(value, dict):
        out = {k: _resolved(v, made) for k, v in value.items()}
        ref = value.get("reference")
        if isinstance(ref, str) and ref in made:
            out["reference"] = made[ref]
        return out
    if isinstance(value, list):
        return [_resolved(v, made) for v in value]
    return value


def _entries(data: dict[str, Any]) -> list[tuple[str, str | None, dict[str, Any], set[str]]]:
    """(where, fullUrl URN or None, resource, URNs it references) per entry, checked."""
    raw = data.get("entry") or []
    urns: dict[str, int] = {}
    for i, entry in enumerate(raw):
        full = entry.get("fullUrl")
        if isinstance(full, str) and full.startswith("urn:uuid:"):
            if URN.fullmatch(full) is None:
                raise FhirError(400, f"Bundle.entry[{i}].fullUrl: {full[:60]!r} is not a urn:uuid")
            if full in urns:
                raise FhirError(
                    400, f"Bundle.entry[{i}].fullUrl: {full} is also entry[{urns[full]}]'s"
                )
            urns[full] = i
    out = []
    for i, entry in enumerate(raw):
        where = f"Bundle.entry[{i}]"
        req = entry.get("request") or {}
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        if req.get("method") != "POST" or req.get("url") != kind or kind not in CREATABLE:
            raise FhirError(
                400,
                f"{where}.request: only POST of {', '.join(CREATABLE)} (url = the type) is served",
                "not-supported",
            )
        needs = {r for r in _references(resource) if r.startswith("urn:uuid:")}
        for urn in sorted(needs):
            if urn not in urns:
                raise FhirError(
                    400, f"{where}.resource: {urn} is not the fullUrl of an entry of this Bundle"
                )
            if urns[urn] == i:
                raise FhirError(400, f"{where}.resource: references its own fullUrl {urn}")
        full = entry.get("fullUrl")
        out.append((where, full if full in urns else None, resource, needs))
    return out


def _order(entries: list[tuple[str, str | None, dict[str, Any], set[str]]]) -> list[int]:
    """The entries' indexes, each after every entry whose URN it references."""
    done: set[str] = set()
    order: list[int] = []
    waiting = list(range(len(entries)))
    while waiting:
        ready = [i for i in waiting if entries[i][3] <= done]
        if not ready:
            where = entries[waiting[0]][0]
            raise FhirError(400, f"{where}.resource: its urn:uuid references go round in a circle")
        for i in ready:
            order.append(i)
            urn = entries[i][1]
            if urn is not None:
                done.add(urn)
        waiting = [i for i in waiting if i not in ready]
    return order


def _location(made: dict[str, Any]) -> dict[str, str]:
    where = f"{made['resourceType']}/{made['id']}"
    version = made.get("meta", {}).get("versionId")
    if version is None:
        return {"status": "201 Created", "location": where}
    return {
        "status": "201 Created",
        "location": f"{where}/_history/{version}",
        "etag": f'W/"{version}"',
    }


def transaction(
    request: Request, ctx: Context, body: Annotated[bytes, Depends(fhir_body)]
) -> FhirResponse:
    try:
        data = json.loads(body)
    except ValueError:
        raise FhirError(400, "body: not JSON") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirError(400, "body: expected a Bundle")
    bundle = parse_resource("Bundle", data, "Bundle")
    if bundle.type != "transaction":
        raise FhirError(400, f"Bundle.type: only transaction is served, not {bundle.type!r}")
    entries = _entries(data)
    root = base(request)
    made: dict[str, str] = {}
    out: dict[int, dict[str, Any]] = {}
    for i in _order(entries):
        where, urn, resource, _ = entries[i]
        kind = resource["resourceType"]
        scoping.require(ctx, kind, "write")
        try:
            created = CREATE[kind](ctx, _resolved(resource, made), f"{where}.resource")
        except DomainError as e:
            if e.status == 403 and not audit.has_refusals(ctx.session):
                audit.refused(
                    ctx.session,
                    actor=ctx.user.username,
                    action="write",
                    resource="fhir transaction",
                    reason=str(e),
                    now=ctx.now,
                )
            raise FhirError(e.status, f"{where}: {e}") from e
        if urn is not None:
            made[urn] = f"{kind}/{created['id']}"
        out[i] = {
            "fullUrl": f"{root}/{kind}/{created['id']}",
            "resource": created,
            "response": _location(created),
        }
    return FhirResponse(
        validated(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [out[i] for i in range(len(entries))],
            }
        )
    )


def add_routes(router: APIRouter) -> None:
    """``POST /fhir`` itself, declared as the system-level ``transaction`` interaction."""
    router.add_api_route(
        "",
        transaction,
        methods=["POST"],
        summary="transaction Bundle (Observation, ServiceRequest, Flag and "
        "QuestionnaireResponse creates, all or nothing; urn:uuid references between entries "
        "resolved)",
        openapi_extra=_BODY,
        responses=ERRORS,
    )
    SYSTEM.append("transaction")
