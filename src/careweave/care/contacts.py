"""Contacts who are not users: the daughter 150 miles away, a neighbour with a key.

A contact belongs to one person (the same daughter of Mr and Mrs Jones is a contact
of each), with a relationship (``RELATIONSHIPS``), an email address and/or a UK
mobile number, the channels they consented to be told by (``by_email``,
``by_sms``), and what they consented to be told about (``TOPICS``). Nothing is sent
on a channel without its consent and address. The outbox (care/outbox.py) sends
them the minimum: "your relative" and what happened, never a name or a diagnosis.

Reading a person's contacts needs the usual relationship with that person
(``contact`` read: any care role); adding, changing or ending one needs ``contact``
write (professionals: the co-ordinator, social worker, GP) and the relationship too.
Each change bumps ``version``: a change sent with an older one is refused (409).
Changes are audited; a contact is ended, never deleted (its messages keep pointing
at it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.models import Contact, StaffChannel

RELATIONSHIPS = {
    "daughter": "Daughter",
    "son": "Son",
    "spouse": "Husband, wife or civil partner",
    "partner": "Partner",
    "sibling": "Brother or sister",
    "grandchild": "Grandchild",
    "friend": "Friend",
    "neighbour": "Neighbour",
    "other": "Other",
}
TOPICS = {
    "admission": "Admitted to hospital",
    "discharge": "Home from hospital",
    "fall_alarm": "A fall alarm",
    "carer_at_risk": "Their carer cannot care for them",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def uk_mobile(text: str) -> str:
    """'07700 900123' or '+44 7700 900123' as '+447700900123'; ValueError otherwise."""
    digits = re.sub(r"[\s()-]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    if not re.fullmatch(r"07\d{9}", digits):
        raise ValueError(text)
    return "+44" + digits[1:]


@dataclass(frozen=True)
class ContactIn:
    name: str
    relationship: str
    email: str | None
    phone: str | None
    by_email: bool
    by_sms: bool
    topics: list[str]


def check(c: ContactIn) -> ContactIn:
    """The contact with its phone normalised; Invalid naming the first bad field."""
    name = c.name.strip()
    if not name or len(name) > 200:
        raise Invalid("name: enter the contact's name (at most 200 characters)")
    if c.relationship not in RELATIONSHIPS:
        raise Invalid(f"relationship: choose one of {', '.join(RELATIONSHIPS)}")
    email = (c.email or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise Invalid("email: enter an email address like name@example.com")
    phone = None
    if (c.phone or "").strip():
        try:
            phone = uk_mobile(c.phone or "")
        except ValueError:
            raise Invalid("phone: enter a UK mobile number, like 07700 900123") from None
    if c.by_email and email is None:
        raise Invalid("email: enter the email address they agreed to be emailed at")
    if c.by_sms and phone is None:
        raise Invalid("phone: enter the mobile number they agreed to be texted on")
    unknown = [t for t in c.topics if t not in TOPICS]
    if unknown:
        raise Invalid(f"topics: {unknown[0]!r} is not one of {', '.join(TOPICS)}")
    return ContactIn(name, c.relationship, email, phone, c.by_email, c.by_sms, list(c.topics))


def current(ctx: Ctx, nhs_number: str, *, record: bool = True) -> list[Contact]:
    """The person's current contacts (``record`` False when the caller audits the page)."""
    ctx.person(nhs_number, "contact", "read", record=record)
    return list(
        ctx.session.execute(
            select(Contact)
            .where(Contact.nhs_number == nhs_number, Contact.ended_at.is_(None))
            .order_by(Contact.id)
        ).scalars()
    )


def _audit(ctx: Ctx, c: Contact, detail: str) -> None:
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="contact",
        resource_id=c.id,
        nhs_number=c.nhs_number,
        detail=detail,
        now=ctx.now,
    )


def add(ctx: Ctx, nhs_number: str, data: ContactIn) -> Contact:
    ctx.person(nhs_number, "contact", "write")
    d = check(data)
    c = Contact(
        nhs_number=nhs_number,
        name=d.name,
        relationship=d.relationship,
        email=d.email,
        phone=d.phone,
        by_email=d.by_email,
        by_sms=d.by_sms,
        topics=d.topics,
        recorded_by=ctx.user.id,
        recorded_at=ctx.now,
        version=1,
    )
    ctx.session.add(c)
    ctx.session.flush()
    _audit(ctx, c, "added")
    return c


def _get(ctx: Ctx, nhs_number: str, contact_id: int, version: int | None) -> Contact:
    ctx.person(nhs_number, "contact", "write")
    c = ctx.session.get(Contact, contact_id, with_for_update=True)
    if c is None or c.nhs_number != nhs_number or c.ended_at is not None:
        raise NotFound(f"contact_id: no current contact {contact_id} for this person")
    if version is not None and version != c.version:
        raise Conflict(
            f"version: {c.name}'s details changed since you opened them; reload and try again"
        )
    return c


def change(
    ctx: Ctx, nhs_number: str, contact_id: int, data: ContactIn, version: int | None
) -> Contact:
    c = _get(ctx, nhs_number, contact_id, version)
    d = check(data)
    c.name, c.relationship, c.email, c.phone = d.name, d.relationship, d.email, d.phone
    c.by_email, c.by_sms, c.topics = d.by_email, d.by_sms, d.topics
    c.recorded_by, c.recorded_at = ctx.user.id, ctx.now
    c.version += 1
    _audit(ctx, c, "changed")
    return c


def end(ctx: Ctx, nhs_number: str, contact_id: int, version: int | None) -> Contact:
    c = _get(ctx, nhs_number, contact_id, version)
    c.ended_at = ctx.now
    c.version += 1
    _audit(ctx, c, "ended")
    return c


def set_my_channels(
    ctx: Ctx,
    email: str | None,
    phone: str | None,
    by_email: bool,
    by_sms: bool,
    kinds: list[str],
) -> StaffChannel:
    """The signed-in user opts in (or out) of email / SMS for some notification kinds
    (care/outbox.STAFF_KINDS when ``kinds`` is empty)."""
    from careweave.care.outbox import STAFF_TEXT

    ctx.require("notification", "read")
    d = check(ContactIn("me", "other", email, phone, by_email, by_sms, []))
    unknown = [k for k in kinds if k not in STAFF_TEXT]
    if unknown:
        raise Invalid(f"kinds: {unknown[0]!r} is not one of {', '.join(STAFF_TEXT)}")
    c = ctx.session.get(StaffChannel, ctx.user.id)
    if c is None:
        c = StaffChannel(user_id=ctx.user.id, updated_at=ctx.now)
        ctx.session.add(c)
    c.email, c.phone, c.by_email, c.by_sms = d.email, d.phone, d.by_email, d.by_sms
    c.kinds, c.updated_at = list(kinds), ctx.now
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="staff_channel",
        resource_id=ctx.user.id,
        now=ctx.now,
        detail=f"email {'on' if by_email else 'off'}, sms {'on' if by_sms else 'off'}",
    )
    return c


def my_channels(ctx: Ctx) -> StaffChannel | None:
    ctx.require("notification", "read")
    return ctx.session.get(StaffChannel, ctx.user.id)
