"""Service directory and referrals (single point of access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import or_, select

from careweave.api.deps import Context
from careweave.api.routers.people import Nhs, PathId
from careweave.api.schemas import (
    BreachCheckIn,
    ReferralIn,
    ReferralOut,
    ServiceIn,
    ServiceMemberOut,
    ServiceOut,
    TransitionIn,
    UnmetNeedOut,
)
from careweave.capacity import norms as norms_mod
from careweave.capacity import unmet
from careweave.care import referrals
from careweave.care import services as service_staff
from careweave.security import audit
from careweave.store.models import Referral

router = APIRouter(tags=["single point of access"])
ServiceId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


@router.get("/services", response_model=list[ServiceOut])
def services(
    ctx: Context,
    locality: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> list[ServiceOut]:
    """The service directory, optionally only services covering a locality."""
    return [ServiceOut.model_validate(s) for s in referrals.services(ctx, locality)]


@router.put("/services/{service_id}", response_model=ServiceOut)
def put_service(service_id: ServiceId, body: ServiceIn, ctx: Context) -> ServiceOut:
    """Create or edit a directory entry (administrators)."""
    fields = body.model_dump(exclude_unset=True)
    if "active" in fields and fields["active"] is None:
        fields.pop("active")
    return ServiceOut.model_validate(referrals.upsert_service(ctx, service_id, fields))


@router.get("/services/{service_id}/members", response_model=list[ServiceMemberOut])
def service_members(service_id: ServiceId, ctx: Context) -> list[ServiceMemberOut]:
    """The service's staff: they see its duty inbox and work its referrals and queue."""
    ctx.require("service", "read")
    return [
        ServiceMemberOut(
            user_id=u.id, username=u.username, display_name=u.display_name, added_at=m.added_at
        )
        for m, u in service_staff.members(ctx.session, service_id)
    ]


@router.put("/services/{service_id}/members/{user_id}", status_code=204)
def add_service_member(service_id: ServiceId, user_id: PathId, ctx: Context) -> Response:
    """Put a user on the service's staff (administrators)."""
    service_staff.add_member(ctx, service_id, user_id)
    return Response(status_code=204)


@router.delete("/services/{service_id}/members/{user_id}", status_code=204)
def remove_service_member(service_id: ServiceId, user_id: PathId, ctx: Context) -> Response:
    service_staff.remove_member(ctx, service_id, user_id)
    return Response(status_code=204)


@router.get("/analytics/unmet-need", response_model=UnmetNeedOut, tags=["analytics"])
def unmet_need(
    request: Request,
    ctx: Context,
    months: Annotated[
        int, Query(ge=1, le=120, description="Declines received in the last N months.")
    ] = 12,
) -> UnmetNeedOut:
    """Unmet need as the commissioners' page and ``careweave unmet-need`` show it: referrals
    declined for unmet need, waiting past their standard, or waiting at a service at
    capacity, by service, locality and CCM level, every count disclosure-controlled
    (1-7 null, others rounded to 5); the staff's notes de-identified (docs/capacity.md).
    Analysts only; audited like the page."""
    ctx.require("pseudonymised", "read")
    norms, _ = norms_mod.for_config_dir(getattr(request.app.state, "careweave_config_dir", None))
    result = unmet.compute(ctx.session, norms, ctx.now, months)
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="read",
        resource="pseudonymised",
        detail=f"unmet need {months} months (API)",
        now=ctx.now,
    )
    return UnmetNeedOut.model_validate(result.as_json())


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def refer(body: ReferralIn, ctx: Context) -> ReferralOut:
    """Refer a person to a service; the response standard clock starts now."""
    r = referrals.create_referral(ctx, body.nhs_number, body.service_id, body.urgency, body.reason)
    return ReferralOut.model_validate(r)


@router.get("/referrals", response_model=list[ReferralOut])
def my_referrals(
    ctx: Context,
    status: Annotated[
        str | None,
        Query(
            pattern="^(received|triaged|accepted|declined|redirected|scheduled|attended|completed)$"
        ),
    ] = None,
) -> list[ReferralOut]:
    """Referrals I made, and referrals to the services whose staff I am (duty inboxes)."""
    ctx.require("referral", "read")
    mine = service_staff.my_service_ids(ctx.session, ctx.user)
    q = select(Referral).where(
        or_(Referral.referrer_id == ctx.user.id, Referral.service_id.in_(mine))
    )
    if status is not None:
        q = q.where(Referral.status == status)
    rows = list(ctx.session.execute(q.order_by(Referral.respond_by, Referral.id)).scalars())
    shown = referrals.visible_only(ctx, rows, "my referrals")
    return [ReferralOut.model_validate(r) for r in shown]


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def referral(referral_id: PathId, ctx: Context) -> ReferralOut:
    return ReferralOut.model_validate(referrals.get_referral(ctx, referral_id))


@router.post("/referrals/{referral_id}/status", response_model=ReferralOut)
def move(referral_id: PathId, body: TransitionIn, ctx: Context) -> ReferralOut:
    """The service's staff move a referral on (docs/care.md): an illegal move or a stale
    ``version`` is 409, someone not on the service's staff 403."""
    r = referrals.transition(
        ctx,
        referral_id,
        body.status,
        body.note,
        body.scheduled_for,
        version=body.version,
        decline_reason=body.decline_reason,
        booked_with=body.booked_with,
        redirect_to=body.redirect_to,
        unmet_need_note=body.unmet_need_note,
    )
    return ReferralOut.model_validate(r)


@router.get("/people/{nhs_number}/referrals", response_model=list[ReferralOut])
def person_referrals(nhs_number: Nhs, ctx: Context) -> list[ReferralOut]:
    ctx.person(nhs_number, "referral", "read")
    rows = ctx.session.execute(
        select(Referral).where(Referral.nhs_number == nhs_number).order_by(Referral.id)
    ).scalars()
    return [ReferralOut.model_validate(r) for r in rows]


@router.post("/referrals/check-breaches", response_model=list[ReferralOut])
def check_breaches(body: BreachCheckIn, ctx: Context) -> list[ReferralOut]:
    """Flag referrals past their response standard and alert referrer and service."""
    ctx.require("referral", "check_breaches")
    at = body.at or ctx.now
    if at.tzinfo is None:
        from careweave.security.errors import Invalid

        raise Invalid("at: give a time zone")
    found = referrals.check_breaches(ctx.session, at, ctx.user.username)
    return [ReferralOut.model_validate(r) for r in found]
