"""People linked to people: carer and cared-for, next of kin, spouse.

Links come from the warehouse's ``person_relationships`` (``careweave sync``) or
are entered by staff on the person's record. Knowing of a link gives no access
to the other person's record: Mrs Jones's team sees that she cares for Mr
Jones, and still needs a relationship of its own to open his record.

When a carer is admitted, has a fall alarm or dies, each person they care for
is flagged at risk: their care team and the adult social care duty queue are
told in one sentence, and a task is raised ("Mr Jones, who has dementia, may
be without his carer") for their social worker, or social care's duty queue
while they have none, due within ``CHECK_HOURS``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.care.context import Ctx
from careweave.care.notify import new_task, route, task_owner
from careweave.care.wording import person_name, uk_time
from careweave.security import audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.db import core
from careweave.store.models import Event, Notification, Person, PersonLink, Task, table_of

RELATIONSHIPS = ("carer_of", "cared_for_by", "next_of_kin", "spouse", "other")
# How a link reads from each side: (this person is ..., the other is ...).
PHRASES = {
    "carer_of": ("cares for", "is cared for by"),
    "cared_for_by": ("is cared for by", "cares for"),
    "next_of_kin": ("is next of kin of", "has as next of kin"),
    "spouse": ("is the spouse of", "is the spouse of"),
    "other": ("is related to", "is related to"),
}
CARER_EVENTS = {
    "admission": "was admitted to hospital",
    "fall_alarm": "raised a fall alarm",
    "death": "has died",
}
CHECK_HOURS = 4
SOCIAL_CARE = "social-care-assessment"
KIND = "carer_at_risk"


def _open(today: dt.date) -> ColumnElement[bool]:
    """A link is current until its end date (the day it ended)."""
    return or_(PersonLink.end_date.is_(None), PersonLink.end_date > today)


_LINKS = table_of(PersonLink)
_CARED_FOR = (
    select(_LINKS.c.nhs_number, _LINKS.c.related_nhs_number, _LINKS.c.relationship)
    .where(
        or_(
            and_(_LINKS.c.nhs_number == bindparam("carer"), _LINKS.c.relationship == "carer_of"),
            and_(
                _LINKS.c.related_nhs_number == bindparam("carer"),
                _LINKS.c.relationship == "cared_for_by",
            ),
        ),
        or_(_LINKS.c.end_date.is_(None), _LINKS.c.end_date > bindparam("today")),
    )
    .order_by(_LINKS.c.id)
)


def cared_for(session: Session, carer: str, today: dt.date) -> list[str]:
    """The people ``carer`` cares for (either way the link was recorded), in a stable order.
    (A link is current until its end date, as ``_open`` says; one statement built once:
    every admission and fall alarm asks.)"""
    rows = core(session, _CARED_FOR, {"carer": carer, "today": today}).all()
    out: list[str] = []
    for a, b, rel in rows:
        other = b if rel == "carer_of" else a
        if other not in out:
            out.append(other)
    return out


def links(ctx: Ctx, nhs_number: str) -> list[tuple[PersonLink, Person, str]]:
    """The person's links, each with the other person and how it reads from this side.

    Needs a relationship with this person only; the other person's record stays closed.
    """
    ctx.person(nhs_number, "person", "read")
    rows = ctx.session.execute(
        select(PersonLink)
        .where(
            or_(
                PersonLink.nhs_number == nhs_number,
                PersonLink.related_nhs_number == nhs_number,
            ),
            _open(ctx.now.date()),
        )
        .order_by(PersonLink.id)
    ).scalars()
    out = []
    for link in rows:
        mine = link.nhs_number == nhs_number
        other = ctx.session.get(Person, link.related_nhs_number if mine else link.nhs_number)
        assert other is not None
        out.append((link, other, PHRASES[link.relationship][0 if mine else 1]))
    return out


def add_link(
    ctx: Ctx,
    nhs_number: str,
    related_nhs_number: str,
    relationship: str,
    start_date: dt.date | None = None,
) -> PersonLink:
    """Record that this person ``relationship`` the other (staff with a relationship with
    this person; the other person need only be in the index)."""
    ctx.person(nhs_number, "care_team", "write")
    if relationship not in RELATIONSHIPS:
        raise Invalid(f"relationship: one of {', '.join(RELATIONSHIPS)}")
    if related_nhs_number == nhs_number:
        raise Invalid("related_nhs_number: a person cannot be linked to themselves")
    if ctx.session.get(Person, related_nhs_number) is None:
        raise NotFound(f"related_nhs_number: no person {related_nhs_number} in the people index")
    same = ctx.session.execute(
        select(PersonLink).where(
            PersonLink.nhs_number == nhs_number,
            PersonLink.related_nhs_number == related_nhs_number,
            PersonLink.relationship == relationship,
        )
    ).scalar_one_or_none()
    if same is not None and (same.end_date is None or same.end_date > ctx.now.date()):
        raise Conflict("relationship: already recorded")
    if same is None:
        same = PersonLink(
            nhs_number=nhs_number,
            related_nhs_number=related_nhs_number,
            relationship=relationship,
            source="manual",
            added_at=ctx.now,
        )
        ctx.session.add(same)
    same.start_date, same.end_date = start_date, None
    same.added_by, same.added_at, same.source = ctx.user.id, ctx.now, "manual"
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="person_link",
        resource_id=same.id,
        nhs_number=nhs_number,
        detail=relationship,
        now=ctx.now,
    )
    return same


def end_link(ctx: Ctx, nhs_number: str, link_id: int) -> PersonLink:
    ctx.person(nhs_number, "care_team", "write")
    link = ctx.session.get(PersonLink, link_id)
    if link is None or nhs_number not in (link.nhs_number, link.related_nhs_number):
        raise NotFound(f"link_id: no relationship {link_id} for {nhs_number}")
    link.end_date = ctx.now.date()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="person_link",
        resource_id=link.id,
        nhs_number=nhs_number,
        detail="ended",
        now=ctx.now,
    )
    return link


def _who_has(person: Person) -> str:
    said = " ".join([*(person.conditions or []), *map(str, person.risk_explanation or [])])
    return ", who has dementia," if "dementia" in said.lower() else ""


def _their(person: Person) -> str:
    return {"male": "his", "female": "her"}.get(person.sex, "their")


def carer_event(
    ctx: Ctx, ev: Event, carer: Person, fallback_service: str
) -> tuple[list[Notification], list[Task]]:
    """Flag everyone ``carer`` cares for when the event leaves them alone (see module doc)."""
    verb = CARER_EVENTS.get(ev.type)
    if verb is None:
        return [], []
    sent: list[Notification] = []
    tasks: list[Task] = []
    for nhs in cared_for(ctx.session, carer.nhs_number, ev.occurred_at.date()):
        person = ctx.session.get(Person, nhs)
        if person is None or person.date_of_death is not None:
            continue
        name, carer_name = person_name(person), person_name(carer)
        title = f"{name}{_who_has(person)} may be without {_their(person)} carer"
        pronoun = {"his": "he is", "her": "she is"}.get(_their(person), "they are")
        subject = (
            f"{carer_name}, who cares for {name}, {verb} ({uk_time(ev.occurred_at)}). "
            f"{title}: check {pronoun} safe today."
        )
        sent += route(
            ctx.session,
            nhs,
            ["*", f"service:{SOCIAL_CARE}"],
            kind=KIND,
            subject=subject,
            now=ctx.now,
            event_id=ev.id,
        )
        user, queue = task_owner(ctx.session, nhs, "social_worker", SOCIAL_CARE, fallback_service)
        tasks.append(
            new_task(
                ctx.session,
                nhs,
                title=title,
                due_at=ev.occurred_at + dt.timedelta(hours=CHECK_HOURS),
                source=f"carer:{ev.id}",
                now=ctx.now,
                owner_user_id=user,
                owner_service_id=queue,
                owner_role="social_worker",
                event_id=ev.id,
            )
        )
    return sent, tasks


def open_carer_alerts(session: Session, nhs_number: str) -> list[Task]:
    """Open 'may be without their carer' tasks for the person (the patient page's alert)."""
    return list(
        session.execute(
            select(Task)
            .where(
                Task.nhs_number == nhs_number,
                Task.source.like("carer:%"),
                Task.status.in_(("open", "in_progress")),
            )
            .order_by(Task.id)
        ).scalars()
    )
