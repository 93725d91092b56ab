"""Alarm incidents: the telecare control centre's queue and the alarm pathway."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from careweave.api.deps import Context
from careweave.api.routers.people import Nhs, PathId
from careweave.api.schemas import IncidentCountOut, IncidentMoveIn, IncidentOut
from careweave.care import incidents
from careweave.store.models import Incident

router = APIRouter(tags=["alarm incidents"])


def _out(inc: Incident) -> IncidentOut:
    return IncidentOut.model_validate(inc)


@router.get("/incidents", response_model=list[IncidentOut])
def queue(
    ctx: Context,
    status: Annotated[str | None, Query(pattern=r"^(open|dispatched|arrived|closed)$")] = None,
) -> list[IncidentOut]:
    """Incidents in the queues of the services whose staff I am (or dispatched to them)."""
    return [_out(i) for i in incidents.queue(ctx, status)]


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def incident(incident_id: PathId, ctx: Context) -> IncidentOut:
    return _out(incidents.get_incident(ctx, incident_id))


@router.post("/incidents/{incident_id}/status", response_model=IncidentOut)
def move(incident_id: PathId, body: IncidentMoveIn, ctx: Context) -> IncidentOut:
    """The control centre's or rapid response's staff move an incident on (docs/care.md):
    an illegal move or a stale ``version`` is 409, anyone else 403."""
    inc = incidents.transition(
        ctx,
        incident_id,
        body.status,
        version=body.version,
        responder_service_id=body.responder_service_id,
        responder_user_id=body.responder_user_id,
        outcome=body.outcome,
        note=body.note,
    )
    return _out(inc)


@router.get("/people/{nhs_number}/incidents", response_model=list[IncidentOut])
def person_incidents(nhs_number: Nhs, ctx: Context) -> list[IncidentOut]:
    ctx.person(nhs_number, "incident", "read")
    rows = ctx.session.execute(
        select(Incident).where(Incident.nhs_number == nhs_number).order_by(Incident.id)
    ).scalars()
    return [_out(i) for i in rows]


@router.get("/analytics/incidents", response_model=list[IncidentCountOut], tags=["analytics"])
def incident_counts(ctx: Context) -> list[IncidentCountOut]:
    """Alarm incidents by month and outcome against the 2-hour standard; counts only
    (commissioners: the same permission as the other analytics)."""
    ctx.require("pseudonymised", "read")
    return [IncidentCountOut(**row) for row in incidents.counts(ctx.session)]
