"""The durable outbox: email and SMS to contacts and opted-in staff, sent after the commit.

**What goes in.** Whenever notifications are stored (any writer: ``notify.store``
calls ``queue`` as it writes them; for one added to a session the ORM way the
listener ``queue_external`` does at flush, like the unowned-task rule in
care/notify.py), in the same transaction, so a message exists exactly when its
notification does:

- for each recipient who opted in (``staff_channels``: email and/or SMS, and the
  notification kinds they want out, by default the urgent ones ``STAFF_KINDS``), one
  message per channel;
- for each current contact of the person (care/contacts.py) who consented to be
  told about the topic (``TOPIC_OF`` a kind: admission, discharge, fall alarm,
  carer unavailable), one message per consented channel, once per event
  (a deterministic idempotency key, checked before it is added).

**Minimum personal data.** A message never carries a diagnosis, a name, an
address, an NHS number or the notification's own sentence. Staff get the person's
initials and what happened ("Careweave: fall alarm raised for M.J. Sign in to
Careweave to see it."); contacts get "your relative" and what happened, because a
text can be read on a locked phone by anyone. Death is never sent by text or email:
someone from the care team tells the family.

**How it drains.** ``drain`` first looks for anything due with a plain read (the
idle poll takes no write lock); then claims up to ``BATCH`` due messages with one
guarded UPDATE over rows locked as they are chosen, so two drainers never take the
same message (a claim lapses after ``LEASE`` if the drainer dies), commits the claim,
sends, and records the results in a second transaction (the sent ones in one UPDATE):
sent; or a transient failure retried with back-off (``backoff``: 5 s doubling to 15
min, for ever: nothing is dropped while a gateway is down); or a permanent refusal
(the address is refused) kept as ``failed`` for staff to correct. Every message
keeps its idempotency key across retries (SMS ``Idempotency-Key`` header, email
``Message-ID``), so one that reached the far end before a failure is not delivered
twice. ``careweave serve`` drains every 0.2 s in its jobs thread
(care/background.py); ``careweave outbox send`` drains once from a scheduler.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, event, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

from careweave.care.channels import ChannelError, Channels, Email, Permanent
from careweave.store.db import read_only, transaction
from careweave.store.models import (
    Contact,
    Notification,
    OutboxMessage,
    Person,
    StaffChannel,
    table_of,
)

LEASE = dt.timedelta(seconds=60)
BATCH = 100
STAFF_KINDS = ("event:fall_alarm", "incident", "incident_breach", "carer_at_risk")
# What staff are told happened, by notification kind (anything else: a new notification).
STAFF_TEXT = {
    "event:fall_alarm": "fall alarm raised",
    "incident": "fall alarm incident updated",
    "incident_breach": "fall alarm past the 2-hour standard",
    "carer_at_risk": "carer may be unavailable",
    "event:admission": "admitted to hospital",
    "event:discharge": "discharged from hospital",
    "event:ae_attendance": "attended A&E",
    "referral": "referral updated",
    "referral_breach": "referral past its response standard",
    "care_plan": "care plan changed",
}
# The topics a contact can consent to, the notification kinds that raise each, and what
# the message says.
TOPIC_OF = {
    "event:admission": "admission",
    "event:discharge": "discharge",
    "event:fall_alarm": "fall_alarm",
    "carer_at_risk": "carer_at_risk",
}
CONTACT_TEXT = {
    "admission": "your relative has been admitted to hospital. Their care team will keep "
    "you informed.",
    "discharge": "your relative has come home from hospital.",
    "fall_alarm": "your relative's fall alarm was raised and a responder is on the way. "
    "Their care team will contact you if they need you.",
    "carer_at_risk": "your relative's carer may not be able to care for them today. Their "
    "social worker has been asked to check they are safe.",
}


@dataclass(frozen=True)
class _Initials:
    given_name: str | None
    family_name: str | None


def initials(person: Person | _Initials | None) -> str:
    """'M.J.' from the given and family names; 'a person in your care' without them."""
    if person is None or not (person.given_name or person.family_name):
        return "a person in your care"
    parts = [p for p in (person.given_name, person.family_name) if p]
    return ".".join(p[0].upper() for p in parts) + "."


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: 5 s doubling, at most 15 min."""
    return dt.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 900))


_OUTBOX = table_of(OutboxMessage)
_QUEUE = insert(_OUTBOX)


def _message(now: dt.datetime, key: str, **kw: Any) -> dict[str, Any]:
    """A new message's row (every column but the id: one ``executemany`` writes them)."""
    row: dict[str, Any] = {
        "idempotency_key": key,
        "channel": None,
        "address": None,
        "user_id": None,
        "contact_id": None,
        "nhs_number": None,
        "event_id": None,
        "kind": None,
        "subject": None,
        "body": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    row.update(kw)
    return row


_CHANNELS = table_of(StaffChannel)
_OPTED = select(
    _CHANNELS.c.user_id,
    _CHANNELS.c.email,
    _CHANNELS.c.phone,
    _CHANNELS.c.by_email,
    _CHANNELS.c.by_sms,
    _CHANNELS.c.kinds,
).where(
    _CHANNELS.c.user_id.in_(bindparam("ids", expanding=True)),
    or_(_CHANNELS.c.by_email, _CHANNELS.c.by_sms),
)
_PEOPLE = table_of(Person)
_NAMES = select(_PEOPLE.c.nhs_number, _PEOPLE.c.given_name, _PEOPLE.c.family_name).where(
    _PEOPLE.c.nhs_number.in_(bindparam("nhs", expanding=True))
)
_CONTACTS = table_of(Contact)
_CONSENTED = select(
    _CONTACTS.c.id,
    _CONTACTS.c.nhs_number,
    _CONTACTS.c.email,
    _CONTACTS.c.phone,
    _CONTACTS.c.by_email,
    _CONTACTS.c.by_sms,
    _CONTACTS.c.topics,
).where(
    _CONTACTS.c.nhs_number.in_(bindparam("nhs", expanding=True)),
    _CONTACTS.c.ended_at.is_(None),
    or_(_CONTACTS.c.by_email, _CONTACTS.c.by_sms),
)
_STORED_KEYS = select(_OUTBOX.c.idempotency_key).where(
    _OUTBOX.c.idempotency_key.in_(bindparam("keys", expanding=True))
)


def _opted(session: Session, ids: set[int]) -> dict[int, Any]:
    """The channel opt-ins of these users (cached for the transaction: one event's
    notifications are flushed in several steps)."""
    cache: dict[int, Any] = session.info.setdefault("careweave_opted", {})
    missing = ids - cache.keys()
    if missing:
        for uid in missing:
            cache[uid] = None
        for row in session.execute(_OPTED, {"ids": sorted(missing)}):
            cache[row.user_id] = row
    return {u: cache[u] for u in ids if cache[u] is not None}


def _names(session: Session, numbers: set[str | None]) -> dict[str, _Initials]:
    """The people's given and family names: from the session when it holds them (the
    event's person, read by ``events.ingest``), else in one read."""
    out: dict[str, _Initials] = {}
    missing = []
    for nhs in numbers:
        if nhs is None:
            continue
        loaded = session.identity_map.get(identity_key(Person, nhs))
        held = None if loaded is None else instance_state(loaded).dict
        if held is not None and "given_name" in held and "family_name" in held:
            out[nhs] = _Initials(held["given_name"], held["family_name"])
        else:
            missing.append(nhs)
    if missing:
        for nhs, given, family in session.execute(_NAMES, {"nhs": sorted(missing)}):
            out[nhs] = _Initials(given, family)
    return out


def _staff(session: Session, new: list[Notification]) -> list[dict[str, Any]]:
    opted = _opted(session, {n.recipient_user_id for n in new})
    wanted = [n for n in new if n.recipient_user_id in opted]
    if not wanted:
        return []
    people = _names(session, {n.nhs_number for n in wanted})
    out = []
    for n in wanted:
        c = opted[n.recipient_user_id]
        if n.kind not in (c.kinds or STAFF_KINDS):
            continue
        what = STAFF_TEXT.get(n.kind, "a new notification")
        who = initials(people.get(n.nhs_number or ""))
        body = f"Careweave: {what} for {who.rstrip('.')}. Sign in to Careweave to see it."
        for channel, address, on in (("email", c.email, c.by_email), ("sms", c.phone, c.by_sms)):
            if on and address:
                out.append(
                    _message(
                        n.created_at,
                        f"u{n.recipient_user_id}-{uuid.uuid4().hex}",
                        channel=channel,
                        address=address,
                        user_id=n.recipient_user_id,
                        nhs_number=n.nhs_number,
                        event_id=n.event_id,
                        kind=n.kind,
                        subject=f"Careweave: {what}",
                        body=body,
                    )
                )
    return out


def _contacts(session: Session, new: list[Notification]) -> list[dict[str, Any]]:
    topical: dict[tuple[str, str, int | None], dt.datetime] = {}
    for n in new:
        if n.kind in TOPIC_OF and n.nhs_number:
            topical.setdefault((n.nhs_number, TOPIC_OF[n.kind], n.event_id), n.created_at)
    if not topical:
        return []
    contacts = list(session.execute(_CONSENTED, {"nhs": sorted({k[0] for k in topical})}))
    candidates: list[dict[str, Any]] = []
    for (nhs, topic, event_id), at in topical.items():
        for c in contacts:
            if c.nhs_number != nhs or topic not in (c.topics or []):
                continue
            text = f"Careweave: {CONTACT_TEXT[topic]}"
            for channel, address, on in (
                ("email", c.email, c.by_email),
                ("sms", c.phone, c.by_sms),
            ):
                if on and address:
                    candidates.append(
                        _message(
                            at,
                            f"c{c.id}-{topic}-e{event_id}-{channel}",
                            channel=channel,
                            address=address,
                            contact_id=c.id,
                            nhs_number=nhs,
                            event_id=event_id,
                            kind=topic,
                            subject="Careweave: news about your relative",
                            body=text,
                        )
                    )
    if not candidates:
        return []
    pending: set[str] = session.info.setdefault("careweave_outbox_keys", set())
    keys = [m["idempotency_key"] for m in candidates]
    stored = set(session.execute(_STORED_KEYS, {"keys": keys}).scalars())
    out = []
    for m in candidates:
        if m["idempotency_key"] not in stored and m["idempotency_key"] not in pending:
            pending.add(m["idempotency_key"])
            out.append(m)
    return out


def queue(session: Session, new: list[Notification]) -> None:
    """Queue the email / SMS that these new notifications call for, in the session's
    transaction: one read of the recipients' opt-ins (cached for the transaction), one of
    the people's names unless the session holds them, one of the contacts when the kind
    is a contact's topic, and one ``executemany`` of the messages (Core: the outbox's rows
    are never ORM objects of the writer's session). Reads without autoflush."""
    if not new:
        return
    with session.no_autoflush:
        messages = _staff(session, new) + _contacts(session, new)
        if messages:
            session.execute(_QUEUE, messages)


@event.listens_for(Session, "before_flush")
def queue_external(session: Session, _ctx: Any, _instances: Any) -> None:
    """Queue the email / SMS of notifications added to the session the ORM way (the
    routing functions store theirs with ``notify.store``, which calls ``queue``)."""
    queue(session, [o for o in session.new if isinstance(o, Notification)])


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_keys(session: Session) -> None:
    session.info.pop("careweave_outbox_keys", None)
    session.info.pop("careweave_opted", None)


@dataclass
class Drained:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)


def _due(now: dt.datetime, channels: list[str]) -> Any:
    """What may be claimed now: pending, due, on a configured channel, not under a lease."""
    return (
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.channel.in_(channels),
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _anything_due(sessions: sessionmaker[Session], now: dt.datetime, channels: list[str]) -> bool:
    """A read, taking no write lock: the idle poll (most of them) costs one SELECT."""
    with sessions() as s:
        read_only(s)
        return (
            s.execute(select(OutboxMessage.id).where(*_due(now, channels)).limit(1)).first()
            is not None
        )


def _claim(session: Session, now: dt.datetime, channels: list[str], limit: int) -> list[Any]:
    """Claim up to ``limit`` due messages with one guarded UPDATE and read them back.

    The rows are locked as they are chosen (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a
    SQLite write transaction holds the single writer lock from its start), so two drainers
    never choose the same message, and the UPDATE's own guard keeps that true for
    anything that changed meanwhile."""
    due = list(
        session.execute(
            select(OutboxMessage.id)
            .where(*_due(now, channels))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not due:
        return []
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), *_due(now, channels))
        .values(claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.idempotency_key,
                OutboxMessage.channel,
                OutboxMessage.address,
                OutboxMessage.subject,
                OutboxMessage.body,
                OutboxMessage.event_id,
            ).where(OutboxMessage.id.in_(due))
        ).tuples()
    )


def _send(rows: list[Any], channels: Channels) -> dict[int, ChannelError | None]:
    results: dict[int, ChannelError | None] = {}
    emails = [r for r in rows if r[2] == "email"]
    if emails and channels.email is not None:
        batch = [Email(r[1], r[3], r[4], r[5], r[6]) for r in emails]
        for r, res in zip(emails, channels.email.send_batch(batch), strict=True):
            results[r[0]] = res
    for r in rows:
        if r[2] == "sms" and channels.sms is not None:
            try:
                channels.sms.send(r[3], r[5], r[1])
                results[r[0]] = None
            except ChannelError as e:
                results[r[0]] = e
    return results


def drain(
    sessions: sessionmaker[Session],
    channels: Channels,
    clock: Callable[[], dt.datetime],
    limit: int = BATCH,
) -> Drained:
    """Send what is due on the configured channels, once (see the module doc)."""
    out = Drained()
    names = channels.names()
    if not names:
        return out
    now = clock()
    if not _anything_due(sessions, now, names):
        return out
    with transaction(sessions) as s:
        rows = _claim(s, now, names, limit)
    if not rows:
        return out
    results = _send(rows, channels)
    done = clock()
    sent = [mid for mid, err in results.items() if err is None]
    with transaction(sessions) as s:
        if sent:  # the usual case, every message of the batch in one statement
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(
                    status="sent",
                    sent_at=done,
                    last_error=None,
                    claimed_until=None,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            out.sent, out.ids = len(sent), sent
        for mid, err in results.items():
            if err is None:
                continue
            m = s.get(OutboxMessage, mid)
            assert m is not None
            m.claimed_until = None
            m.attempts += 1
            if isinstance(err, Permanent):
                m.status, m.last_error = "failed", str(err)[:200]
                out.failed += 1
            else:
                m.next_attempt_at, m.last_error = done + backoff(m.attempts), str(err)[:200]
                out.retried += 1
    return out


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Messages by (channel, status): what ``careweave outbox status`` prints."""
    rows = session.execute(
        select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.channel, OutboxMessage.status
        )
    ).tuples()
    return {(c, s): n for c, s, n in rows}


# ------------------------------------------------------------------ the operator's view
#
# Administrators see the messages that failed or are being retried (GET /outbox/problems,
# the workbench's /app/outbox) and can send one again at once. What they see is what an
# operator needs to put a channel right, and no more: the channel, who it was for in
# kind (a staff member by name: administrators manage the accounts; a contact only as
# "a contact" and their relationship), what it was about (the notification kind), the
# attempts and the last error in words. Never the body, the subject, the address, the
# person or their NHS number: administrators have no relationship with anyone's record.

#: The words for a channel's last error (care/channels.py raises these short codes).
_SMTP_WORDS = "The email server"
_SMS_WORDS = "The text message gateway"


def in_words(error: str | None) -> str:
    """A channel's last error as a sentence an operator can act on."""
    if not error:
        return "Not tried yet."
    head, _, detail = error.partition(": ")
    who = _SMS_WORDS if head.startswith("sms") else _SMTP_WORDS
    code = detail.removeprefix("HTTP ").strip()
    if head == "smtp connect" or not code.isdigit():
        if detail == "recipient refused":
            return f"{who} refused the address: correct it on the recipient's details."
        return f"{who} could not be reached ({detail or 'no reply'}): check it is running."
    n = int(code)
    if n == 429:
        return f"{who} is busy (too many messages, HTTP 429): it will be tried again."
    if (head == "smtp" and n >= 500) or (head.startswith("sms") and 400 <= n < 500):
        return f"{who} refused the message (code {n}): check the address and the account."
    return f"{who} had a fault (code {n}): it will be tried again."


@dataclass(frozen=True)
class Problem:
    """A message that failed or is waiting to be tried again, as the operator sees it."""

    id: int
    channel: str
    recipient: str
    about: str
    status: str
    attempts: int
    error: str
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime


def problems(session: Session, limit: int = 200) -> list[Problem]:
    """Failed messages and pending ones with a failed attempt, newest first."""
    from careweave.care.contacts import RELATIONSHIPS
    from careweave.store.models import User

    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.channel,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.next_attempt_at,
            OutboxMessage.created_at,
            User.display_name,
            Contact.relationship,
        )
        .outerjoin(User, User.id == OutboxMessage.user_id)
        .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
        .where(
            or_(
                OutboxMessage.status == "failed",
                (OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0),
            )
        )
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).tuples()
    out = []
    for mid, channel, kind, status, attempts, error, nxt, created, staff, rel in rows:
        if staff is not None:
            recipient = f"Staff: {staff}"
        else:
            recipient = f"Contact ({RELATIONSHIPS.get(rel or 'other', 'Other').lower()})"
        about = STAFF_TEXT.get(kind) or kind.replace("event:", "").replace("_", " ")
        out.append(
            Problem(
                id=mid,
                channel=channel,
                recipient=recipient,
                about=about,
                status="failed" if status == "failed" else "retrying",
                attempts=attempts,
                error=in_words(error),
                next_attempt_at=nxt if status == "pending" else None,
                created_at=created,
            )
        )
    return out


def retry(session: Session, ids: list[int], now: dt.datetime, actor: str) -> int:
    """Send these messages again at the next drain (a failed one too); returns how many.
    An unknown id is NotFound; one already sent is a Conflict (nothing changes)."""
    from careweave.security import audit
    from careweave.security.errors import Conflict, NotFound

    found = {
        m.id: m
        for m in session.execute(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids)).with_for_update()
        ).scalars()
    }
    for mid in ids:
        m = found.get(mid)
        if m is None:
            raise NotFound(f"message {mid}: no such message in the outbox")
        if m.status == "sent":
            raise Conflict(f"message {mid}: already sent")
    for mid in dict.fromkeys(ids):
        m = found[mid]
        m.status, m.next_attempt_at, m.claimed_until = "pending", now, None
        audit.record(
            session,
            actor=actor,
            action="write",
            resource="outbox",
            resource_id=mid,
            detail="retry",
            now=now,
        )
    return len(dict.fromkeys(ids))
