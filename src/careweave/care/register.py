"""The case-management register: episodes, lead professionals, care teams and caseloads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from careweave.care.context import Ctx
from careweave.care.notify import team
from careweave.security import access, audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.security.roles import ADMINISTRATOR, ANALYST, INTEGRATION, TEAM_ROLES
from careweave.store.models import CareTeamMember, Episode, Person, User

# The care-team role a lead professional takes by default, from their user role.
LEAD_TEAM_ROLE = {
    "case_manager": "case_manager",
    "care_coordinator": "care_coordinator",
    "clinician": "gp",
    "social_worker": "social_worker",
}


@dataclass(frozen=True)
class CaseloadStatus:
    user_id: int
    open_episodes: int
    limit: int
    level: str  # ok | approaching | at_limit | over_limit

    @property
    def warning(self) -> str | None:
        if self.level == "ok":
            return None
        return (
            f"caseload {self.level.replace('_', ' ')}: {self.open_episodes} open episodes "
            f"against a limit of {self.limit}"
        )


def caseload_level(count: int, limit: int, warn_fraction: float) -> str:
    """Pure rule: where a caseload of ``count`` stands against ``limit``."""
    if count > limit:
        return "over_limit"
    if count == limit:
        return "at_limit"
    if count >= warn_fraction * limit:
        return "approaching"
    return "ok"


def caseload(ctx: Ctx, user: User) -> CaseloadStatus:
    n = ctx.session.execute(
        select(func.count(Episode.id)).where(
            Episode.lead_professional_id == user.id, Episode.end_date.is_(None)
        )
    ).scalar_one()
    limit = ctx.config.caseload.limit_for(user.role)
    return CaseloadStatus(
        user.id, n, limit, caseload_level(n, limit, ctx.config.caseload.warn_fraction)
    )


def caseload_episodes(ctx: Ctx, user: User) -> list[Episode]:
    """The user's open episodes as lead professional that they may still see, audited as
    one list entry. An episode whose person they lost the relationship with (their team
    membership ended and the person objects to sharing) is left out, not refused; it is
    still counted by :func:`caseload`."""
    rows = list(
        ctx.session.execute(
            select(Episode)
            .where(Episode.lead_professional_id == user.id, Episode.end_date.is_(None))
            .order_by(Episode.id)
        ).scalars()
    )
    seen = access.visible(ctx.session, ctx.user, {e.nhs_number for e in rows}, ctx.now)
    out = [e for e in rows if e.nhs_number in seen]
    access.audit_list(
        ctx.session,
        ctx.user,
        "register",
        {e.nhs_number for e in out},
        ctx.now,
        what="caseload",
        hidden=len(rows) - len(out),
    )
    return out


def _user(ctx: Ctx, user_id: int, what: str) -> User:
    user = ctx.session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"{what}: no active user {user_id}")
    return user


def add_member(
    ctx: Ctx, nhs_number: str, user_id: int, team_role: str, organisation: str | None
) -> CareTeamMember:
    ctx.person(nhs_number, "care_team", "write")
    if team_role not in TEAM_ROLES:
        raise Invalid(f"team_role: {team_role!r} is not one of {', '.join(TEAM_ROLES)}")
    member_user = _user(ctx, user_id, "user_id")
    if member_user.role in (ANALYST, ADMINISTRATOR, INTEGRATION):
        raise Invalid(f"user_id: a {member_user.role} cannot join a care team")
    existing = ctx.session.execute(
        select(CareTeamMember).where(
            CareTeamMember.nhs_number == nhs_number,
            CareTeamMember.user_id == user_id,
            CareTeamMember.team_role == team_role,
        )
    ).scalar_one_or_none()
    if existing is not None:
        if existing.ended_at is None:
            raise Conflict(f"user {user_id} is already in the care team as {team_role}")
        existing.ended_at = None
        existing.added_at = ctx.now
        existing.added_by = ctx.user.id
        member = existing
    else:
        member = CareTeamMember(
            nhs_number=nhs_number,
            user_id=user_id,
            team_role=team_role,
            organisation=(organisation or member_user.org_id or "unknown")[:200],
            added_by=ctx.user.id,
            added_at=ctx.now,
        )
        ctx.session.add(member)
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="care_team",
        resource_id=member.id,
        nhs_number=nhs_number,
        detail=f"added user {user_id} as {team_role}",
        now=ctx.now,
    )
    return member


def end_member(ctx: Ctx, nhs_number: str, member_id: int) -> CareTeamMember:
    ctx.person(nhs_number, "care_team", "write")
    member = ctx.session.get(CareTeamMember, member_id)
    if member is None or member.nhs_number != nhs_number or member.ended_at is not None:
        raise NotFound(f"member_id: no current care-team member {member_id} for this person")
    member.ended_at = ctx.now
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="care_team",
        resource_id=member.id,
        nhs_number=nhs_number,
        detail="ended membership",
        now=ctx.now,
    )
    return member


def care_team(ctx: Ctx, nhs_number: str) -> list[CareTeamMember]:
    ctx.person(nhs_number, "care_team", "read")
    return team(ctx.session, nhs_number)


def enrol(
    ctx: Ctx,
    nhs_number: str,
    *,
    reason: str,
    lead_professional_id: int,
    start_date: dt.date | None = None,
    source: str = "worklist",
) -> tuple[Episode, CaseloadStatus]:
    """Put a person on the register with an accountable lead; warns at the caseload limit."""
    person = ctx.person(nhs_number, "register", "write")
    if not reason.strip():
        raise Invalid("reason: say why the person is being enrolled")
    if person.date_of_death is not None:
        raise Invalid(f"nhs_number {nhs_number}: the person has died")
    lead = _user(ctx, lead_professional_id, "lead_professional_id")
    if lead.role not in LEAD_TEAM_ROLE:
        raise Invalid(f"lead_professional_id: a {lead.role} cannot be a lead professional")
    open_episode = ctx.session.execute(
        select(Episode.id).where(Episode.nhs_number == nhs_number, Episode.end_date.is_(None))
    ).first()
    if open_episode:
        raise Conflict(
            f"nhs_number {nhs_number}: already on the register (episode {open_episode[0]})"
        )
    start = start_date or ctx.now.date()
    episode = Episode(
        nhs_number=nhs_number,
        start_date=start,
        reason=reason.strip(),
        lead_professional_id=lead.id,
        source=source[:64],
        created_by=ctx.user.id,
        created_at=ctx.now,
    )
    ctx.session.add(episode)
    ctx.session.flush()
    role = LEAD_TEAM_ROLE[lead.role]
    if not any(m.user_id == lead.id for m in team(ctx.session, nhs_number)):
        ctx.session.add(
            CareTeamMember(
                nhs_number=nhs_number,
                user_id=lead.id,
                team_role=role,
                organisation=lead.org_id or "unknown",
                added_by=ctx.user.id,
                added_at=ctx.now,
            )
        )
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="register",
        resource_id=episode.id,
        nhs_number=nhs_number,
        detail=f"enrolled; lead user {lead.id}",
        now=ctx.now,
    )
    ctx.session.flush()
    return episode, caseload(ctx, lead)


def close_episode(ctx: Ctx, episode_id: int, end_date: dt.date, outcome: str) -> Episode:
    episode = ctx.session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"episode_id: no episode {episode_id}")
    ctx.person(episode.nhs_number, "register", "write")
    if episode.end_date is not None:
        raise Conflict(f"episode {episode_id}: already closed")
    if end_date < episode.start_date:
        raise Invalid("end_date: before the episode's start")
    if not outcome.strip():
        raise Invalid("outcome: say how the episode ended")
    episode.end_date = end_date
    episode.outcome = outcome.strip()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="register",
        resource_id=episode.id,
        nhs_number=episode.nhs_number,
        detail="closed",
        now=ctx.now,
    )
    return episode


def episodes(ctx: Ctx, nhs_number: str) -> list[Episode]:
    ctx.person(nhs_number, "register", "read")
    return list(
        ctx.session.execute(
            select(Episode).where(Episode.nhs_number == nhs_number).order_by(Episode.id)
        ).scalars()
    )


def worklist(ctx: Ctx, min_level: int, limit: int) -> list[Person]:
    """People the user may see at CCM level >= min_level who are not on the register."""
    ctx.require("register", "read")
    u = ctx.user
    on_register = select(Episode.nhs_number).where(Episode.end_date.is_(None))
    q = select(Person).where(
        Person.ccm_level >= min_level,
        Person.date_of_death.is_(None),
        Person.nhs_number.not_in(on_register),
    )
    scope = []
    if u.org_id:
        scope.append(Person.practice_id == u.org_id)
    if u.locality_id:
        scope.append(Person.locality_id == u.locality_id)
    if not scope:
        return []
    q = q.where(or_(*scope)).order_by(Person.risk_probability.desc()).limit(limit * 2)
    rows = list(ctx.session.execute(q).scalars())
    # An objection to sharing removes locality access: such people are left out.
    seen = access.visible(ctx.session, u, [p.nhs_number for p in rows], ctx.now)
    out = [p for p in rows if p.nhs_number in seen][:limit]
    access.audit_list(
        ctx.session, u, "register", [p.nhs_number for p in out], ctx.now, what="worklist"
    )
    return out
