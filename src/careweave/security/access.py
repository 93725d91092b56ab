"""Who may see a person's record: legitimate relationships, break-glass and objections.

A user has a legitimate relationship with a person when they are:
- an active member of the person's care team;
- staff of the person's registered GP practice (user.org_id == person.practice_id);
- in the person's locality team (user.locality_id == person.locality_id), unless
  the person objects to sharing (objection kind ``sharing``);
- on the staff of a service (its named contact or a member) holding an open
  referral for the person, an open task for them in its duty queue, or an alarm
  incident for them in its queue or dispatched to it, open or closed within the
  last ``INCIDENT_AFTERCARE`` (24 hours: the responder sees the outcome they
  recorded, the control centre reviews the day's alarms);
- or holding an unexpired break-glass grant (reason required, flagged for review).

Lists (tasks, referrals, caseloads, notifications, MDT agendas) use
:func:`visible` to keep the people the user may see and leave out the rest
(one set of queries per list, never a check per row), and audit the list as
one entry naming the people shown (:func:`audit_list`). Refusals are audited
in their own transaction (:func:`careweave.security.audit.refused`), so they
survive the request's rollback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import CompoundSelect, Select, and_, event, false, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.security import audit
from careweave.security.errors import Conflict, Forbidden, Invalid, NotFound
from careweave.security.roles import RELATIONSHIP_EXEMPT, allowed
from careweave.store.models import (
    BreakGlass,
    CareTeamMember,
    Incident,
    Objection,
    Person,
    Referral,
    Service,
    ServiceMember,
    Task,
    User,
)

OBJECTION_KINDS = ("sharing", "secondary_use")
BREAK_GLASS_TTL = dt.timedelta(hours=4)
OPEN_REFERRAL = ("received", "triaged", "accepted", "scheduled", "attended")
OPEN_TASK = ("open", "in_progress")


def staff_services(user: User) -> Select[tuple[str]]:
    """The ids of the services the user is on the staff of (named contact or member)."""
    return select(Service.id).where(
        or_(
            Service.contact_user_id == user.id,
            Service.id.in_(
                select(ServiceMember.service_id).where(
                    ServiceMember.user_id == user.id, ServiceMember.ended_at.is_(None)
                )
            ),
        )
    )


def require(
    user: User,
    resource: str,
    action: str,
    *,
    session: Session | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Refuse (403) a role without permission; with a session, the refusal is audited."""
    if not allowed(user.role, resource, action):
        reason = f"{resource}: role {user.role!r} may not {action}"
        if session is not None and now is not None:
            audit.refused(
                session,
                actor=user.username,
                action=action,
                resource=resource,
                reason=reason,
                now=now,
            )
        raise Forbidden(reason)


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


INCIDENT_AFTERCARE = dt.timedelta(hours=24)


def incident_current(now: dt.datetime) -> ColumnElement[bool]:
    """An incident still giving its services' staff a relationship: open, or closed
    within the last ``INCIDENT_AFTERCARE``."""
    return or_(Incident.status != "closed", Incident.closed_at >= now - INCIDENT_AFTERCARE)


_BASIS = "careweave_relationship_basis"  # session.info: the transaction's answers so far


def relationship(session: Session, user: User, person: Person, now: dt.datetime) -> str | None:
    """The basis of the user's legitimate relationship with the person, or None.

    Kept for the rest of the transaction while nothing is written: the patient page asks
    once per part of the record it reads (six times), each up to seven queries. Any
    flush, pending change or end of the transaction forgets it."""
    key = (
        user.id,
        user.org_id,
        user.locality_id,
        person.nhs_number,
        person.practice_id,
        person.locality_id,
        now,
    )
    if session.new or session.dirty or session.deleted:
        session.info.pop(_BASIS, None)
        return _relationship(session, user, person, now)
    known: dict[tuple[object, ...], str | None] = session.info.setdefault(_BASIS, {})
    if key not in known:
        known[key] = _relationship(session, user, person, now)
    return known[key]


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _flush: object) -> None:
    session.info.pop(_BASIS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, _transaction: object) -> None:
    session.info.pop(_BASIS, None)


def _relationship(session: Session, user: User, person: Person, now: dt.datetime) -> str | None:
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
        select(Referral.id).where(
            Referral.nhs_number == person.nhs_number,
            Referral.status.in_(OPEN_REFERRAL),
            Referral.service_id.in_(staff_services(user)),
        )
    ).first()
    if referral:
        return "referral"
    queued = session.execute(
        select(Task.id).where(
            Task.nhs_number == person.nhs_number,
            Task.status.in_(OPEN_TASK),
            Task.owner_service_id.in_(staff_services(user)),
        )
    ).first()
    if queued:
        return "service_queue"
    incident = session.execute(
        select(Incident.id).where(
            Incident.nhs_number == person.nhs_number,
            incident_current(now),
            or_(
                Incident.service_id.in_(staff_services(user)),
                Incident.responder_service_id.in_(staff_services(user)),
            ),
        )
    ).first()
    if incident:
        return "incident"
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
    people the user may open; tests/web/test_web_identity.py keeps this, :func:`visible`
    and :func:`relationship` in step, every basis included: care team, practice, locality
    without a sharing objection, open referral, service queue task, alarm incident (open
    or closed within a day),
    break-glass)."""
    if user.role in RELATIONSHIP_EXEMPT:
        return false()  # feeds post events; they never browse or search people
    sharing_objectors = select(Objection.nhs_number).where(
        Objection.kind == "sharing", Objection.withdrawn_at.is_(None)
    )
    # The per-person bases as one list of NHS numbers, computed once per query: as
    # correlated EXISTS they were probed for every candidate row, five index probes for
    # each person a search by a common name passes on its way to 51 visible ones.
    services = staff_services(user)
    related: CompoundSelect = union_all(
        select(CareTeamMember.nhs_number).where(
            CareTeamMember.user_id == user.id, CareTeamMember.ended_at.is_(None)
        ),
        select(BreakGlass.nhs_number).where(
            BreakGlass.user_id == user.id, BreakGlass.expires_at > now
        ),
        select(Referral.nhs_number).where(
            Referral.status.in_(OPEN_REFERRAL), Referral.service_id.in_(services)
        ),
        select(Task.nhs_number).where(
            Task.nhs_number.is_not(None),
            Task.status.in_(OPEN_TASK),
            Task.owner_service_id.in_(services),
        ),
        select(Incident.nhs_number).where(
            incident_current(now),
            or_(Incident.service_id.in_(services), Incident.responder_service_id.in_(services)),
        ),
    )
    parts: list[ColumnElement[bool]] = [Person.nhs_number.in_(related)]
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


def visible(
    session: Session, user: User, nhs_numbers: Iterable[str], now: dt.datetime
) -> dict[str, str]:
    """Of ``nhs_numbers``, those the user has a legitimate relationship with, each with its
    basis (the rule of :func:`relationship`, in five set queries however long the list).
    People not in the index are left out."""
    wanted = set(nhs_numbers)
    if not wanted:
        return {}
    out: dict[str, str] = {}
    chunks = [sorted(wanted)[i : i + 500] for i in range(0, len(wanted), 500)]
    exempt = user.role in RELATIONSHIP_EXEMPT
    for chunk in chunks:
        people = session.execute(
            select(Person.nhs_number, Person.practice_id, Person.locality_id).where(
                Person.nhs_number.in_(chunk)
            )
        ).all()
        if exempt:
            out.update({n: "exempt" for n, _, _ in people})
            continue
        team = set(
            session.execute(
                select(CareTeamMember.nhs_number).where(
                    CareTeamMember.nhs_number.in_(chunk),
                    CareTeamMember.user_id == user.id,
                    CareTeamMember.ended_at.is_(None),
                )
            ).scalars()
        )
        objectors = set(
            session.execute(
                select(Objection.nhs_number).where(
                    Objection.nhs_number.in_(chunk),
                    Objection.kind == "sharing",
                    Objection.withdrawn_at.is_(None),
                )
            ).scalars()
        )
        referred = set(
            session.execute(
                select(Referral.nhs_number).where(
                    Referral.nhs_number.in_(chunk),
                    Referral.status.in_(OPEN_REFERRAL),
                    Referral.service_id.in_(staff_services(user)),
                )
            ).scalars()
        )
        queued = set(
            session.execute(
                select(Task.nhs_number).where(
                    Task.nhs_number.in_(chunk),
                    Task.status.in_(OPEN_TASK),
                    Task.owner_service_id.in_(staff_services(user)),
                )
            ).scalars()
        )
        alarmed = set(
            session.execute(
                select(Incident.nhs_number).where(
                    Incident.nhs_number.in_(chunk),
                    incident_current(now),
                    or_(
                        Incident.service_id.in_(staff_services(user)),
                        Incident.responder_service_id.in_(staff_services(user)),
                    ),
                )
            ).scalars()
        )
        glass = set(
            session.execute(
                select(BreakGlass.nhs_number).where(
                    BreakGlass.nhs_number.in_(chunk),
                    BreakGlass.user_id == user.id,
                    BreakGlass.expires_at > now,
                )
            ).scalars()
        )
        for nhs, practice, locality in people:
            if nhs in team:
                out[nhs] = "care_team"
            elif user.org_id is not None and user.org_id == practice:
                out[nhs] = "practice"
            elif (
                user.locality_id is not None
                and user.locality_id == locality
                and nhs not in objectors
            ):
                out[nhs] = "locality"
            elif nhs in referred:
                out[nhs] = "referral"
            elif nhs in queued:
                out[nhs] = "service_queue"
            elif nhs in alarmed:
                out[nhs] = "incident"
            elif nhs in glass:
                out[nhs] = "break_glass"
    return out


def audit_list(
    session: Session,
    user: User,
    resource: str,
    shown: Iterable[str],
    now: dt.datetime,
    *,
    what: str = "list",
    hidden: int = 0,
) -> None:
    """One audit entry for a list page or export, naming the people in it (the chain grows
    with actions, not rows). Nothing is recorded for a list about nobody."""
    people = sorted(set(shown))
    if not people and not hidden:
        return
    audit.record(
        session,
        actor=user.username,
        action="read",
        resource=resource,
        nhs_number=people[0] if len(people) == 1 else None,
        detail=f"{what}; people={len(people)}; hidden={hidden}; nhs_numbers={','.join(people)}",
        now=now,
    )


def may_be_assigned(
    session: Session, assignee: User, nhs_number: str, now: dt.datetime, field: str
) -> None:
    """Refuse (422, in words) giving work about a person to a user who could not open the
    person's record: their home page and task list would otherwise hold something they may
    not see. The assigner must add them to the care team first (an audited, ended-when-done
    relationship) rather than Careweave granting one silently."""
    if assignee.role in RELATIONSHIP_EXEMPT or nhs_number in visible(
        session, assignee, [nhs_number], now
    ):
        return
    raise Invalid(
        f"{field}: {assignee.display_name} has no care relationship with {nhs_number}; "
        "add them to the care team first, or choose someone who has one"
    )


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
    require(user, resource, action, session=session, now=now)
    person = session.get(Person, nhs_number)
    if person is None:
        raise NotFound(f"nhs_number: no person {nhs_number} in the people index")
    basis = (
        "exempt" if user.role in RELATIONSHIP_EXEMPT else relationship(session, user, person, now)
    )
    if basis is None:
        audit.refused(
            session,
            actor=user.username,
            action=action,
            resource=resource,
            nhs_number=nhs_number,
            reason="no legitimate relationship",
            now=now,
        )
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
        raise Conflict(f"break_glass {grant_id}: already reviewed")
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
        raise Conflict(f"objection {objection_id}: already withdrawn")
    obj.withdrawn_at = now
    return obj
