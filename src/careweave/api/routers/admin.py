"""Administration (users, break-glass review, audit verification) and pseudonymised analytics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from careweave.api.deps import Context, state
from careweave.api.routers.people import PathId
from careweave.api.schemas import (
    AuditHeadOut,
    AuditVerifyOut,
    BreakGlassOut,
    OutboxProblemOut,
    OutboxRetryIn,
    OutboxRetryOut,
    PseudonymisedPersonOut,
    ReviewIn,
    RevokedOut,
    RevokeTokensIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from careweave.security import access, audit, auth
from careweave.security.errors import NotFound
from careweave.security.pseudonyms import pseudonym
from careweave.store.models import BreakGlass, Episode, Objection, Person, User

router = APIRouter()


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def add_user(body: UserIn, ctx: Context) -> UserOut:
    access.require(ctx.user, "user", "write")
    u = auth.create_user(
        ctx.session,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        org_id=body.org_id,
        locality_id=body.locality_id,
        now=ctx.now,
    )
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="user",
        resource_id=u.id,
        now=ctx.now,
    )
    return UserOut.model_validate(u)


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def users(ctx: Context) -> list[UserOut]:
    access.require(ctx.user, "user", "read")
    rows = ctx.session.execute(select(User).order_by(User.id)).scalars()
    return [UserOut.model_validate(u) for u in rows]


def _user(ctx: Context, user_id: int) -> User:
    access.require(ctx.user, "user", "write")
    u = ctx.session.get(User, user_id)
    if u is None:
        raise NotFound(f"user_id: no user {user_id}")
    return u


@router.post("/users/{user_id}/unlock", response_model=UserOut, tags=["admin"])
def unlock(user_id: PathId, ctx: Context) -> UserOut:
    u = _user(ctx, user_id)
    auth.unlock(u)
    return UserOut.model_validate(u)


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=201, tags=["admin"])
def user_token(user_id: PathId, body: TokenIn, ctx: Context) -> TokenOut:
    """Issue an API token for another account (e.g. an integration feed)."""
    u = _user(ctx, user_id)
    token = auth.issue_token(ctx.session, u, body.name, ctx.now, fhir_scopes=body.fhir_scopes)
    return TokenOut(token=token, name=body.name)


@router.post("/users/{user_id}/tokens/revoke", response_model=RevokedOut, tags=["admin"])
def revoke_user_tokens(user_id: PathId, body: RevokeTokensIn, ctx: Context) -> RevokedOut:
    """Revoke an account's API tokens (e.g. a feed's leaked token); refused from then on."""
    u = _user(ctx, user_id)
    n = auth.revoke_tokens(ctx.session, u, ctx.now, actor=ctx.user.username, name=body.name)
    return RevokedOut(tokens_revoked=n)


@router.post("/users/{user_id}/deactivate", response_model=RevokedOut, tags=["admin"])
def deactivate_user(user_id: PathId, ctx: Context) -> RevokedOut:
    """A leaver: no more sign-in, browser sessions ended, API tokens revoked. History kept."""
    u = _user(ctx, user_id)
    ended, revoked = auth.deactivate(ctx.session, u, ctx.now, actor=ctx.user.username)
    return RevokedOut(tokens_revoked=revoked, sessions_ended=ended)


@router.get("/break-glass", response_model=list[BreakGlassOut], tags=["admin"])
def unreviewed(ctx: Context) -> list[BreakGlassOut]:
    """Break-glass accesses awaiting review."""
    access.require(ctx.user, "break_glass", "review")
    rows = ctx.session.execute(
        select(BreakGlass).where(BreakGlass.reviewed_at.is_(None)).order_by(BreakGlass.id)
    ).scalars()
    out = []
    for b in rows:
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="read",
            resource="break_glass",
            resource_id=b.id,
            nhs_number=b.nhs_number,
            now=ctx.now,
        )
        out.append(BreakGlassOut.model_validate(b))
    return out


@router.post("/break-glass/{grant_id}/review", response_model=BreakGlassOut, tags=["admin"])
def review(grant_id: PathId, body: ReviewIn, ctx: Context) -> BreakGlassOut:
    g = access.review_break_glass(ctx.session, ctx.user, grant_id, body.note, ctx.now)
    return BreakGlassOut.model_validate(g)


@router.get("/outbox/problems", response_model=list[OutboxProblemOut], tags=["admin"])
def outbox_problems(ctx: Context) -> list[OutboxProblemOut]:
    """Email and SMS that failed or are being retried, newest first (at most 200): channel,
    recipient in kind, what about, attempts, the last error in words; never the message."""
    from careweave.care import outbox

    access.require(ctx.user, "outbox", "read")
    return [OutboxProblemOut.model_validate(p) for p in outbox.problems(ctx.session)]


@router.post("/outbox/retry", response_model=OutboxRetryOut, tags=["admin"])
def outbox_retry(body: OutboxRetryIn, ctx: Context) -> OutboxRetryOut:
    """Send these messages again at the next drain (404 unknown, 409 already sent)."""
    from careweave.care import outbox

    access.require(ctx.user, "outbox", "write")
    n = outbox.retry(ctx.session, list(body.ids), ctx.now, ctx.user.username)
    return OutboxRetryOut(retried=n)


@router.get("/audit/verify", response_model=AuditVerifyOut, tags=["admin"])
def verify(ctx: Context) -> AuditVerifyOut:
    """Walk the audit hash chain; reports the first altered, removed or reordered entry."""
    access.require(ctx.user, "audit", "read")
    v = audit.verify(ctx.session)
    return AuditVerifyOut(intact=v.intact, count=v.count, problem=v.problem)


@router.get("/audit/head", response_model=AuditHeadOut, tags=["admin"])
def audit_head(ctx: Context) -> AuditHeadOut:
    """The chain's tip (sequence number and hash) as committed now: an anchor for a job that
    keeps it outside the database (one JSON line each, as ``careweave audit anchor`` writes)."""
    access.require(ctx.user, "audit", "read")
    tip = audit.head(ctx.session, ctx.now)
    return AuditHeadOut(seq=tip.seq, hash=tip.hash, at=tip.at)


def _age_band(dob: dt.date, today: dt.date) -> str:
    age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    lo = min(age // 10 * 10, 90)
    return "90+" if lo == 90 else f"{lo}-{lo + 9}"


@router.get("/analytics/people", response_model=list[PseudonymisedPersonOut], tags=["analytics"])
def pseudonymised(
    request: Request,
    ctx: Context,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[PseudonymisedPersonOut]:
    """People for analysts: keyed pseudonyms and banded fields only; objectors left out."""
    access.require(ctx.user, "pseudonymised", "read")
    key = state(request).pseudonym_key
    assert key is not None
    objectors = select(Objection.nhs_number).where(
        Objection.kind == "secondary_use", Objection.withdrawn_at.is_(None)
    )
    enrolled = set(
        ctx.session.execute(select(Episode.nhs_number).where(Episode.end_date.is_(None))).scalars()
    )
    rows = ctx.session.execute(
        select(Person)
        .where(Person.nhs_number.not_in(objectors))
        .order_by(Person.nhs_number)
        .offset(offset)
        .limit(limit)
    ).scalars()
    today = ctx.now.date()
    out = [
        PseudonymisedPersonOut(
            pseudonym=pseudonym(key, p.nhs_number),
            age_band=_age_band(p.date_of_birth, today),
            sex=p.sex,
            locality_id=p.locality_id,
            ccm_level=p.ccm_level,
            risk_band=p.risk_band,
            segment=p.segment,
            on_register=p.nhs_number in enrolled,
        )
        for p in rows
    ]
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="read",
        resource="pseudonymised",
        detail=f"{len(out)} rows from offset {offset}",
        now=ctx.now,
    )
    return out
