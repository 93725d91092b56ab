"""Group read/search and Bulk Data export: kick-off, status, files, delete.

Who may export whom (decided at kick-off, with the same rules as a search):

- a care role (``person`` read) exports the people of the cohort it has a legitimate
  relationship with (``access.visible_clause``), identified; the kick-off is one audit
  entry naming them;
- an analyst (``pseudonymised`` read) exports the whole cohort pseudonymised, less the
  people who object to secondary use; audited as a pseudonymised read;
- anyone else is refused (403).

``Patient/$export`` is the same over everyone the caller may see (the system-level
export). A token's FHIR scopes must allow reading each exported type; without ``_type``
only the types they allow are exported.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, select, true

from careweave.api.deps import Context, state
from careweave.api.fhir import bulk, bulk_jobs, groups, scoping
from careweave.api.fhir.capability import INSTANTIATES, Served, register
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.resources import validated
from careweave.api.fhir.search import base, bundle, parse
from careweave.care.context import Ctx
from careweave.security import access, audit
from careweave.security.roles import allowed
from careweave.store.models import BulkExport, Objection, Person

router = APIRouter(tags=["FHIR Bulk Data"])
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
#: Kick-off parameters served; any other is a 400.
KICKOFF = {"_type", "_since", "_outputFormat"}


def exports(request: Request) -> bulk_jobs.Exports:
    """The app's export jobs (made by ``create_app`` over its store and bulk directory)."""
    found: bulk_jobs.Exports = request.app.state.careweave_fhir_exports
    return found


# ---------------------------------------------------------------- Group


def _may_read_cohorts(ctx: Ctx) -> None:
    if not allowed(ctx.user.role, "pseudonymised", "read"):
        ctx.require("person", "read")


@router.get("/Group/{group_id}", summary="Group read (a cohort)")
def group_read(group_id: str, ctx: Context) -> FhirResponse:
    _may_read_cohorts(ctx)
    cohort = groups.find(ctx.session, group_id)
    return FhirResponse(validated(groups.resource(cohort, groups.size(ctx.session, cohort))))


@router.get("/Group", summary="Group search (the cohorts)")
def group_search(request: Request, ctx: Context) -> FhirResponse:
    s = parse("Group", request)
    _may_read_cohorts(ctx)
    found = groups.every(ctx.session)
    ids = s.one("_id")
    if ids is not None:
        found = [c for c in found if c.id in ids.split(",")]
    name = s.one("name")
    if name is not None:
        found = [c for c in found if c.name.lower().startswith(name.lower())]
    page = found[s.offset : s.offset + s.count]
    resources = [groups.resource(c, groups.size(ctx.session, c)) for c in page]
    return FhirResponse(bundle(request, "Group", resources, s, len(found) > s.offset + s.count))


# ---------------------------------------------------------------- kick-off


def _instant(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(
            400, f"_since: {value!r} is not an instant like 2026-11-01T00:00:00Z"
        ) from None
    if when.tzinfo is None:
        raise FhirError(400, "_since: give a time zone (e.g. Z or +00:00)")
    return when


def _kickoff(
    request: Request, ctx: Ctx, prefer: str | None, what: str, members: ColumnElement[bool]
) -> Response:
    if prefer is None or "respond-async" not in prefer.replace(" ", "").split(","):
        raise FhirError(400, "Prefer: a Bulk Data kick-off needs Prefer: respond-async")
    types: tuple[str, ...] = bulk.TYPES
    since: dt.datetime | None = None
    for name, value in request.query_params.multi_items():
        if name not in KICKOFF:
            raise FhirError(
                400,
                f"{name}: not a supported export parameter "
                f"(supported: {', '.join(sorted(KICKOFF))})",
                "not-supported",
            )
        if name == "_outputFormat" and value not in OUTPUT_FORMATS:
            raise FhirError(400, f"_outputFormat: only {NDJSON} is written, not {value!r}")
        if name == "_type":
            wanted = [t.strip() for t in value.split(",") if t.strip()]
            unknown = [t for t in wanted if t not in bulk.TYPES]
            if unknown:
                raise FhirError(
                    400,
                    f"_type: {', '.join(unknown)} is not exported "
                    f"(exported: {', '.join(bulk.TYPES)})",
                    "not-supported",
                )
            types = tuple(t for t in bulk.TYPES if t in wanted)
        if name == "_since":
            since = _instant(value)
    scope = ctx.scope.fhir if ctx.scope is not None else None
    if scope is not None:  # the token's FHIR scopes: each exported type is a read of it
        if "_type" in request.query_params:
            for kind in types:
                scoping.require(ctx, kind, "read")
        else:
            types = tuple(t for t in types if ctx.scope and not ctx.scope.refuse_fhir(t, "read"))
    pseudonymise = allowed(ctx.user.role, "pseudonymised", "read")
    q = select(Person.nhs_number).where(members)
    if pseudonymise:
        q = q.where(
            Person.nhs_number.not_in(
                select(Objection.nhs_number).where(
                    Objection.kind == "secondary_use", Objection.withdrawn_at.is_(None)
                )
            )
        )
    else:
        ctx.require("person", "read")
        q = q.where(access.visible_clause(ctx.user, ctx.now))
    nhs_numbers = list(ctx.session.execute(q.order_by(Person.nhs_number)).scalars())
    if pseudonymise:
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="read",
            resource="pseudonymised",
            detail=f"fhir bulk export {what}: {len(nhs_numbers)} people, pseudonymised",
            now=ctx.now,
        )
    else:
        access.audit_list(
            ctx.session, ctx.user, "person", nhs_numbers, ctx.now, what=f"fhir bulk export {what}"
        )
    app_state = state(request)
    registry = exports(request)
    job_id = registry.new_id()
    job = bulk_jobs.Job(
        id=job_id,
        owner=ctx.user.id,
        request=str(request.url),
        types=types,
        since=since,
        nhs_numbers=nhs_numbers,
        pseudonymise=pseudonymise,
        directory=registry.directory(job_id),
        transaction_time=ctx.now,
    )
    # The audit entry is committed with the request; the job's row in a transaction of
    # its own (a GET's session does not write: store/db.py), then the thread's sessions.
    ctx.session.commit()
    registry.sweep()
    registry.create(job)
    reader = getattr(request.app.state, "careweave_warehouse_reader", None)
    registry.start(job, bulk.Exporter(app_state.sessions, reader, app_state.pseudonym_key))
    return Response(
        status_code=202,
        headers={"Content-Location": f"{base(request)}/_bulk/{job_id}"},
    )


_PREFER = Annotated[str | None, Header()]


@router.get("/Group/{group_id}/$export", summary="Bulk Data export of a Group", status_code=202)
def group_export(request: Request, group_id: str, ctx: Context, prefer: _PREFER = None) -> Response:
    _may_read_cohorts(ctx)
    cohort = groups.find(ctx.session, group_id)
    return _kickoff(request, ctx, prefer, f"Group/{cohort.id}", cohort.members())


@router.get("/Patient/$export", summary="Bulk Data export of every patient", status_code=202)
def patient_export(request: Request, ctx: Context, prefer: _PREFER = None) -> Response:
    _may_read_cohorts(ctx)
    return _kickoff(request, ctx, prefer, "Patient", true())


# ---------------------------------------------------------------- status, files, delete


def _job(request: Request, ctx: Ctx, job_id: str) -> BulkExport:
    """The caller's job from the store (any worker's), or 404: unknown, deleted, expired
    or another account's are alike to the caller."""
    row = exports(request).find(ctx.session, job_id, ctx.user.id)
    if row is None:
        raise FhirError(
            404, f"_bulk/{job_id[:40]}: no such export (it may have been deleted or expired)"
        )
    return row


def _instant_z(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@router.get("/_bulk/{job_id}", summary="Bulk Data export status")
def export_status(request: Request, job_id: str, ctx: Context) -> Response:
    row = _job(request, ctx, job_id)
    if bulk_jobs.stale(row, exports(request).clock()):
        raise FhirError(
            500,
            f"export {row.id}: the server writing it stopped before it finished; kick off again",
            "exception",
        )
    if row.state == "running":
        shown = bulk_jobs.progress(row.done_types, len(row.types), row.written)
        return Response(status_code=202, headers={"X-Progress": shown, "Retry-After": "2"})
    if row.state != "done":
        raise FhirError(500, f"export {row.id}: {row.error}", "exception")
    root = base(request)
    manifest: dict[str, Any] = {
        "transactionTime": _instant_z(row.transaction_time),
        "request": row.request,
        "requiresAccessToken": True,
        "output": [{**o, "url": f"{root}/_bulk/{row.id}/{o['type']}.ndjson"} for o in row.output],
        "error": [],
    }
    headers = {}
    if row.expires_at is not None:  # when the files go (Bulk Data: Expires, an HTTP date)
        headers["Expires"] = format_datetime(row.expires_at.astimezone(dt.UTC), usegmt=True)
    return JSONResponse(manifest, headers=headers)


@router.get("/_bulk/{job_id}/{file_name}", summary="Bulk Data export file (NDJSON)")
def export_file(request: Request, job_id: str, file_name: str, ctx: Context) -> Response:
    row = _job(request, ctx, job_id)
    kinds = {o["type"] for o in row.output}
    kind = file_name.removesuffix(".ndjson")
    path = exports(request).directory(row.id) / f"{kind}.ndjson"
    if (
        row.state != "done"
        or kind not in kinds
        or not file_name.endswith(".ndjson")
        or not path.is_file()
    ):
        raise FhirError(404, f"_bulk/{row.id}/{file_name[:40]}: no such file")
    return FileResponse(path, media_type=NDJSON)


@router.delete("/_bulk/{job_id}", summary="Delete a Bulk Data export", status_code=202)
def export_delete(request: Request, job_id: str, ctx: Context) -> Response:
    row = _job(request, ctx, job_id)
    exports(request).delete(ctx.session, row.id)
    return Response(status_code=202)


BULK = "http://hl7.org/fhir/uv/bulkdata/"


def add_routes(parent: APIRouter) -> None:
    """Group and Bulk Data routes under ``parent`` (``/fhir``), declared in the capability.

    The ``$export`` routes go first: ``Patient/$export`` must not be taken for a read of
    ``Patient/{id}``."""
    for route in router.routes:
        assert isinstance(route, APIRoute)
        parent.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            summary=route.summary,
            status_code=route.status_code,
            tags=list(route.tags),
        )
    parent.routes.sort(key=lambda r: "$export" not in getattr(r, "path", ""))
    register(
        "Group",
        Served(
            ("read", "search-type"),
            {"_id": "token", "name": "string"},
            operations=(("export", BULK + "OperationDefinition/group-export"),),
        ),
    )
    register(
        "Patient",
        Served((), {}, operations=(("export", BULK + "OperationDefinition/patient-export"),)),
    )
    INSTANTIATES.append(BULK + "CapabilityStatement/bulk-data")
