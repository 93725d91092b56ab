"""Who may see a person's record: legitimate relationships, break-glass and objections.

A user has a legitimate relationship with a person when they are:
- an active member of the person's care team;
- staff of the person's registered GP practice (user.org_id == person.practice_id);
- in the person's locality team (user.locality_id == person.locality_id), unless
  the person objects to sharing (objection kind ``sharing``);
- the named contact of a service holding an open referral for the person;
- or holding an unexpired break-glass grant (reason required, flagged for review).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.security import audit
from careweave.security.errors import Forbidden, Invalid, NotFound
from careweave.security.roles import RELATIONSHIP_EXEMPT, allowed
from careweave.store.models import (
    BreakGlass,
    CareTeamMember,
    Objection,
    Person,
    Referral,
    Service,
    User,
)

OBJECTION_KINDS = ("sharing", "secondary_use")
BREAK_GLASS_TTL = dt.timedelta(hours=4)
OPEN_REFERRAL = ("received", "triaged", "accepted", "scheduled")


def require(user: User, resource: str, action: str) -> None:
    if not allowed(user.role, resource, action):
        raise Forbidden(f"{resource}: role {user.role!r} may not {action}")


def has_objection(session: Session, nhs_number: str, kind: str) -> bool:
    return (
        session.execute(
            select(Objection.id).where(
                Objection.nhs_number == nhs_number,
                Objection.kind == kind,
                Objection.withdrawn_at.is_(None),
            )
        ).first()
        is not None
    )


def relationship(session: Session, user: User, person: Person, now: dt.datetime) -> str | None:
    """The basis of the user's legitimate relationship with the person, or None."""
    member = session.execute(
        select(CareTeamMember.id).where(
            CareTeamMember.nhs_number == person.nhs_number,
            CareTeamMember.user_id == user.id,
            CareTeamMember.ended_at.is_(None),
        )
    ).first()
    if member:
        return "care_team"
    if user.org_id is not None and user.org_id == person.practice_id:
        return "practice"
    if (
        user.locality_id is not None
        and user.locality_id == person.locality_id
        and not has_objection(session, person.nhs_number, "sharing")
    ):
        return "locality"
    referral = session.execute(
        select(Referral.id)
        .join(Service, Service.id == Referral.service_id)
        .where(
            Referral.nhs_number == person.nhs_number,
            Referral.status.in_(OPEN_REFERRAL),
            Service.contact_user_id == user.id,
        )
    ).first()
    if referral:
        return "referral"
    grant = session.execute(
        select(BreakGlass.id).where(
            BreakGlass.user_id == user.id,
            BreakGlass.nhs_number == person.nhs_number,
            BreakGlass.expires_at > now,
        )
    ).first()
    if grant:
        return "break_glass"
    return None


def visible_clause(user: User, now: dt.datetime) -> ColumnElement[bool]:
    """:func:`relationship` as one SQL condition on ``Person``: true for exactly the people
    the user has a legitimate relationship with (search filters by it, so it returns only
    people the user may open; tests/web/test_web_search.py keeps the two in step)."""
    if user.role in RELATIONSHIP_EXEMPT:
        return false()  # feeds post events; they never browse or search people
    sharing_objectors = select(Objection.nhs_number).where(
        Objection.kind == "sharing", Objection.withdrawn_at.is_(None)
    )
    parts: list[ColumnElement[bool]] = [
        exists().where(
            CareTeamMember.nhs_number == Person.nhs_number,
            CareTeamMember.user_id == user.id,
            CareTeamMember.ended_at.is_(None),
        ),
        exists().where(
            BreakGlass.nhs_number == Person.nhs_number,
            BreakGlass.user_id == user.id,
            BreakGlass.expires_at > now,
        ),
        exists()
        .where(
            Referral.nhs_number == Person.nhs_number,
            Referral.status.in_(OPEN_REFERRAL),
            Service.id == Referral.service_id,
            Service.contact_user_id == user.id,
        )
        .correlate(Person),
    ]
    if user.org_id is not None:
        parts.insert(0, Person.practice_id == user.org_id)
    if user.locality_id is not None:
        parts.insert(
            0,
            and_(
                Person.locality_id == user.locality_id,
                Person.nhs_number.not_in(sharing_objectors),
            ),
        )
    return or_(*parts)


def emergency_grant(
    session: Session, user: User, nhs_number: str, now: dt.datetime
) -> BreakGlass | None:
    """The user's unexpired break-glass grant for the person, when emergency access is
    their only basis (pages then show the emergency-access banner with its expiry)."""
    person = session.get(Person, nhs_number)
    if person is None:
        return None
    if relationship(session, user, person, now) != "break_glass":
        return None
    return session.execute(
        select(BreakGlass)
        .where(
            BreakGlass.user_id == user.id,
            BreakGlass.nhs_number == nhs_number,
            BreakGlass.expires_at > now,
        )
        .order_by(BreakGlass.expires_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def person_for(
    session: Session,
    user: User,
    nhs_number: str,
    resource: str,
    action: str,
    now: dt.datetime,
    *,
    record: bool = True,
) -> Person:
    """The person's record, after checking role permission and relationship.

    The access is audited here unless ``record`` is False, in which case the caller
    must write the audit entry itself (once, with more detail).
    """
    require(user, resource, action)
    person = session.get(Person, nhs_number)
    if person is None:
        raise NotFound(f"nhs_number: no person {nhs_number} in the people index")
    basis = (
        "exempt" if user.role in RELATIONSHIP_EXEMPT else relationship(session, user, person, now)
    )
    if basis is None:
        raise Forbidden(
            f"nhs_number {nhs_number}: no legitimate relationship; use break-glass with a "
            "reason if this is an emergency"
        )
    if record:
        audit.record(
            session,
            actor=user.username,
            action=action,
            resource=resource,
            nhs_number=nhs_number,
            detail=f"basis={basis}",
            now=now,
        )
    return person


def break_glass(
    session: Session, user: User, nhs_number: str, reason: str, now: dt.datetime
) -> BreakGlass:
    require(user, "break_glass", "write")
    if len(reason.strip()) < 10:
        raise Invalid("reason: break-glass needs a stated reason of at least 10 characters")
    if session.get(Person, nhs_number) is None:
        raise NotFound(f"nhs_number: no person {nhs_number} in the people index")
    grant = BreakGlass(
        user_id=user.id,
        nhs_number=nhs_number,
        reason=reason.strip(),
        granted_at=now,
        expires_at=now + BREAK_GLASS_TTL,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="break_glass",
        resource="person",
        nhs_number=nhs_number,
        resource_id=grant.id,
        detail="flagged for review",
        now=now,
    )
    return grant


def review_break_glass(
    session: Session, reviewer: User, grant_id: int, note: str, now: dt.datetime
) -> BreakGlass:
    require(reviewer, "break_glass", "review")
    grant = session.get(BreakGlass, grant_id)
    if grant is None:
        raise NotFound(f"break_glass: no grant {grant_id}")
    if grant.reviewed_at is not None:
        raise Invalid(f"break_glass {grant_id}: already reviewed")
    grant.reviewed_by = reviewer.id
    grant.reviewed_at = now
    grant.review_note = note
    audit.record(
        session,
        actor=reviewer.username,
        action="review",
        resource="break_glass",
        resource_id=grant_id,
        now=now,
    )
    return grant


def record_objection(
    session: Session, user: User, nhs_number: str, kind: str, note: str | None, now: dt.datetime
) -> Objection:
    person_for(session, user, nhs_number, "objection", "write", now)
    if kind not in OBJECTION_KINDS:
        raise Invalid(f"kind: {kind!r} is not one of {', '.join(OBJECTION_KINDS)}")
    obj = Objection(
        nhs_number=nhs_number, kind=kind, recorded_by=user.id, recorded_at=now, note=note
    )
    session.add(obj)
    session.flush()
    return obj


def withdraw_objection(
    session: Session, user: User, nhs_number: str, objection_id: int, now: dt.datetime
) -> Objection:
    person_for(session, user, nhs_number, "objection", "write", now)
    obj = session.get(Objection, objection_id)
    if obj is None or obj.nhs_number != nhs_number:
        raise NotFound(f"objection_id: no objection {objection_id} for this person")
    if obj.withdrawn_at is not None:
        raise Invalid(f"objection {objection_id}: already withdrawn")
    obj.withdrawn_at = now
    return obj
