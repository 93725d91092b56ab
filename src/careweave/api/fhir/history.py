"""vread and ``_history`` on ``/fhir``, where the store versions the thing, and a refusal in
words where it does not.

Versioned (``versioning = versioned`` in the CapabilityStatement, with ``vread`` and
``history-instance``):

- CarePlan: every version is kept whole (``care_plan_versions``); its routes live with
  its update in ``router.py``.
- ServiceRequest (a referral): every change bumps the referral's ``version`` and appends
  one history entry holding what changed (status, appointment, decline reason); the rest
  never changes, so each version is rebuilt exactly (``care_resources.service_request``).

Not versioned: Patient, Organization, Practitioner, PractitionerRole, EpisodeOfCare,
CareTeam, Task, Flag, Communication, HealthcareService, RiskAssessment,
QuestionnaireResponse and the warehouse's linked record. Their rows are changed in place
(or, like an assessment, never changed) and the audit log says who touched them, not what
they held, so there is no earlier version to serve: ``GET /fhir/<Type>/<id>/_history``
(and ``/_history/<vid>``) is a 405 OperationOutcome saying so, and the CapabilityStatement
lists no vread or history for them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from careweave.api.deps import Context
from careweave.api.fhir import care_resources as cr
from careweave.api.fhir.capability import SERVED, Served, register
from careweave.api.fhir.care_store import read_referral
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.search import base
from careweave.api.fhir.versions import etag, history_bundle
from careweave.store.models import Referral


def _version(kind: str, resource_id: str, value: str, versions: range) -> int:
    if not value.isdigit() or len(value) > 9 or int(value) not in versions:
        kept = f"{versions.start}-{versions.stop - 1}" if versions else "none"
        raise FhirError(
            404, f"{kind}/{resource_id}/_history/{value[:20]}: no such version (kept: {kept})"
        )
    return int(value)


def service_request_vread(resource_id: str, version_id: str, ctx: Context) -> FhirResponse:
    """The referral as it stood at ``version_id``."""
    ref: Referral = read_referral(ctx, resource_id)
    version = _version("ServiceRequest", resource_id, version_id, cr.referral_versions(ref))
    return FhirResponse(cr.service_request(ctx.session, ref, version), headers=etag(version))


def service_request_history(request: Request, resource_id: str, ctx: Context) -> FhirResponse:
    """Every kept version of the referral, newest first."""
    ref: Referral = read_referral(ctx, resource_id)
    found = []
    for v in cr.referral_versions(ref):
        found.append((cr.service_request(ctx.session, ref, v), cr.referral_changed_at(ref, v)))
    return FhirResponse(history_bundle(base(request), "ServiceRequest", str(ref.id), found))


def not_versioned(resource_type: str, resource_id: str) -> FhirResponse:
    served = SERVED.get(resource_type)
    if served is None:
        raise FhirError(404, f"{resource_type}: not a resource type served here")
    raise FhirError(
        405,
        f"{resource_type}/{resource_id}/_history: {resource_type} is not versioned here (the "
        f"store keeps only its current state), so there is no vread or _history; read it "
        f"with GET /fhir/{resource_type}/{resource_id}",
        "not-supported",
    )


def not_versioned_vread(resource_type: str, resource_id: str, version_id: str) -> FhirResponse:
    return not_versioned(resource_type, resource_id)


def add_routes(router: APIRouter) -> None:
    """ServiceRequest's vread and history; then, for every other type, the refusal (added
    last, so the versioned types' own routes match first)."""
    router.add_api_route(
        "/ServiceRequest/{resource_id}/_history/{version_id}",
        service_request_vread,
        methods=["GET"],
        summary="ServiceRequest vread (the referral at a version)",
    )
    router.add_api_route(
        "/ServiceRequest/{resource_id}/_history",
        service_request_history,
        methods=["GET"],
        summary="ServiceRequest history (every version of the referral)",
    )
    register("ServiceRequest", Served(("vread", "history-instance"), {}, versioning="versioned"))
    for path, endpoint in (
        ("/{resource_type}/{resource_id}/_history", not_versioned),
        ("/{resource_type}/{resource_id}/_history/{version_id}", not_versioned_vread),
    ):
        # Not in the OpenAPI document: it serves no interaction, it refuses one in words.
        router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
