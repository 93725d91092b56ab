"""People index, register, care teams, caseloads, telehealth settings, objections, break-glass."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from careweave.api.deps import Context
from careweave.api.schemas import (
    BreakGlassIn,
    BreakGlassOut,
    CaseloadOut,
    CloseEpisodeIn,
    EnrolIn,
    EnrolOut,
    EpisodeOut,
    MemberIn,
    MemberOut,
    ObjectionIn,
    ObjectionOut,
    PersonOut,
    TelehealthIn,
)
from careweave.care import events, register
from careweave.security import access
from careweave.store.models import Objection

router = APIRouter(tags=["people and register"])
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Level = Literal["ok", "approaching", "at_limit", "over_limit"]


def _caseload(status: register.CaseloadStatus, eps: list[EpisodeOut] | None = None) -> CaseloadOut:
    return CaseloadOut(
        user_id=status.user_id,
        open_episodes=status.open_episodes,
        limit=status.limit,
        level=cast(Level, status.level),
        warning=status.warning,
        episodes=eps or [],
    )


@router.get("/people/{nhs_number}", response_model=PersonOut)
def person(nhs_number: Nhs, ctx: Context) -> PersonOut:
    """A person's index record with their latest risk score (relationship required)."""
    return PersonOut.model_validate(ctx.person(nhs_number, "person", "read"))


@router.get("/worklist", response_model=list[PersonOut])
def worklist(
    ctx: Context,
    min_level: Annotated[int, Query(ge=1, le=4)] = 3,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PersonOut]:
    """People in the user's practice or locality at or above a CCM level, not yet enrolled."""
    return [PersonOut.model_validate(p) for p in register.worklist(ctx, min_level, limit)]


@router.post("/register", response_model=EnrolOut, status_code=201)
def enrol(body: EnrolIn, ctx: Context) -> EnrolOut:
    """Enrol on the case-management register; warns when the lead's caseload is at its limit."""
    ep, status = register.enrol(
        ctx,
        body.nhs_number,
        reason=body.reason,
        lead_professional_id=body.lead_professional_id,
        start_date=body.start_date,
        source=body.source,
    )
    return EnrolOut(episode=EpisodeOut.model_validate(ep), caseload=_caseload(status))


@router.post("/register/{episode_id}/close", response_model=EpisodeOut)
def close(episode_id: PathId, body: CloseEpisodeIn, ctx: Context) -> EpisodeOut:
    return EpisodeOut.model_validate(
        register.close_episode(ctx, episode_id, body.end_date, body.outcome)
    )


@router.get("/people/{nhs_number}/episodes", response_model=list[EpisodeOut])
def person_episodes(nhs_number: Nhs, ctx: Context) -> list[EpisodeOut]:
    return [EpisodeOut.model_validate(e) for e in register.episodes(ctx, nhs_number)]


@router.get("/caseload", response_model=CaseloadOut)
def my_caseload(ctx: Context) -> CaseloadOut:
    """The current user's open episodes as lead professional, against their limit."""
    ctx.require("caseload", "read")
    eps = register.caseload_episodes(ctx, ctx.user)
    return _caseload(register.caseload(ctx, ctx.user), [EpisodeOut.model_validate(e) for e in eps])


@router.get("/people/{nhs_number}/care-team", response_model=list[MemberOut])
def team(nhs_number: Nhs, ctx: Context) -> list[MemberOut]:
    return [MemberOut.model_validate(m) for m in register.care_team(ctx, nhs_number)]


@router.post("/people/{nhs_number}/care-team", response_model=MemberOut, status_code=201)
def add_member(nhs_number: Nhs, body: MemberIn, ctx: Context) -> MemberOut:
    m = register.add_member(ctx, nhs_number, body.user_id, body.team_role, body.organisation)
    return MemberOut.model_validate(m)


@router.delete("/people/{nhs_number}/care-team/{member_id}", status_code=204)
def end_member(nhs_number: Nhs, member_id: PathId, ctx: Context) -> None:
    register.end_member(ctx, nhs_number, member_id)


@router.put("/people/{nhs_number}/telehealth", status_code=204)
def telehealth(nhs_number: Nhs, body: TelehealthIn, ctx: Context) -> None:
    """Per-person telehealth settings: conditions (e.g. heart_failure) and own normal ranges."""
    events.set_telehealth(ctx, nhs_number, body.conditions, dict(body.thresholds))


@router.post("/people/{nhs_number}/objections", response_model=ObjectionOut, status_code=201)
def object_(nhs_number: Nhs, body: ObjectionIn, ctx: Context) -> ObjectionOut:
    """Record an objection: 'sharing' (no locality-wide access) or 'secondary_use' (no analytics)."""
    o = access.record_objection(ctx.session, ctx.user, nhs_number, body.kind, body.note, ctx.now)
    return ObjectionOut.model_validate(o)


@router.get("/people/{nhs_number}/objections", response_model=list[ObjectionOut])
def objections(nhs_number: Nhs, ctx: Context) -> list[ObjectionOut]:
    ctx.person(nhs_number, "objection", "read")
    rows = ctx.session.execute(
        select(Objection).where(Objection.nhs_number == nhs_number).order_by(Objection.id)
    ).scalars()
    return [ObjectionOut.model_validate(o) for o in rows]


@router.post("/people/{nhs_number}/objections/{objection_id}/withdraw", response_model=ObjectionOut)
def withdraw(nhs_number: Nhs, objection_id: PathId, ctx: Context) -> ObjectionOut:
    """The person withdraws an objection; access and analytics return to normal."""
    o = access.withdraw_objection(ctx.session, ctx.user, nhs_number, objection_id, ctx.now)
    return ObjectionOut.model_validate(o)


@router.post("/people/{nhs_number}/break-glass", response_model=BreakGlassOut, status_code=201)
def break_glass(nhs_number: Nhs, body: BreakGlassIn, ctx: Context) -> BreakGlassOut:
    """Emergency access for 4 hours without a relationship: reason required, flagged for review."""
    return BreakGlassOut.model_validate(
        access.break_glass(ctx.session, ctx.user, nhs_number, body.reason, ctx.now)
    )
