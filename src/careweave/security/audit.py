"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so
altering, removing or reordering any entry breaks the chain from that point.
``audit_head`` holds the tip; appending locks it (``SELECT ... FOR UPDATE``
on PostgreSQL, the single-writer lock on SQLite), so concurrent requests
extend one chain and never fork it. Entries recorded during a transaction are
chained in just before it commits, so the lock is held only for the commit. The database also refuses UPDATE and
DELETE on ``audit_log`` (triggers in the initial migration).

Someone able to rewrite the whole chain *and* its head could still produce a
chain that verifies. Anchors close that: ``head`` gives the tip (sequence
number and hash), ``careweave audit anchor`` writes it as one JSON line to a
file kept outside the database (another host, write-once storage, a syslog
feed), and ``verify`` given those anchors checks that every anchored entry is
still in the chain with the same hash.

Refused attempts (:func:`refused`) are the exception to "entries belong to the
request's transaction": they are chained in their own transaction once the
request's transaction has ended, committed or rolled back, so a refusal that
fails the request is still on record (who, what, when, why).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from careweave.errors import InputError
from careweave.store.db import is_read_only
from careweave.store.models import AuditEntry, AuditHead, table_of

GENESIS = "0" * 64
VERIFY_BATCH = 10_000  # rows fetched at a time by verify
# A JSON string literal of a str, as json.dumps(ensure_ascii=False) writes it.
_QUOTE = json.encoder.encode_basestring


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    resource: str,
    resource_id: str | None,
    nhs_number: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    body = entry_body(seq, at, actor, action, resource, resource_id, nhs_number, detail, prev_hash)
    return hashlib.sha256(body.encode()).hexdigest()


def entry_body(
    seq: int,
    at: str,
    actor: str,
    action: str,
    resource: str,
    resource_id: str | None,
    nhs_number: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """What an entry's hash covers: exactly ``json.dumps([seq, at, ..., prev_hash],
    separators=(",", ":"), ensure_ascii=False)``, written out directly because json.dumps
    builds an encoder per call, two thirds of the cost of verifying an entry
    (tests/care/test_audit_body.py checks the two agree for any text)."""
    q = _QUOTE
    try:
        return (
            f"[{seq:d},{q(at)},{q(actor)},{q(action)},{q(resource)},"
            f"{'null' if resource_id is None else q(resource_id)},"
            f"{'null' if nhs_number is None else q(nhs_number)},{q(detail)},{q(prev_hash)}]"
        )
    except (TypeError, ValueError):  # a field of another type: json decides
        return json.dumps(
            [seq, at, actor, action, resource, resource_id, nhs_number, detail, prev_hash],
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class PendingEntry:
    actor: str
    action: str
    resource: str
    at: str
    resource_id: str | None
    nhs_number: str | None
    detail: str


_PENDING = "careweave_audit_pending"
_REFUSED = "careweave_audit_refused"
REFUSED = "refused"  # the action of a refused attempt's entry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    resource: str,
    now: dt.datetime,
    resource_id: str | int | None = None,
    nhs_number: str | None = None,
    detail: str = "",
) -> None:
    """Add an entry to the caller's transaction: it is chained in when the transaction
    commits (so the chain's lock is held only for the commit) and dropped on rollback."""
    pending: list[PendingEntry] = session.info.setdefault(_PENDING, [])
    pending.append(
        PendingEntry(
            actor=actor,
            action=action,
            resource=resource,
            at=now.astimezone(dt.UTC).isoformat(),
            resource_id=None if resource_id is None else str(resource_id),
            nhs_number=nhs_number,
            detail=detail,
        )
    )


def refused(
    session: Session,
    *,
    actor: str,
    action: str,
    resource: str,
    reason: str,
    now: dt.datetime,
    nhs_number: str | None = None,
    resource_id: str | int | None = None,
) -> None:
    """Record a refused attempt: ``actor`` tried to ``action`` ``resource`` and was refused
    for ``reason``. Written in its own transaction when the caller's ends, whether it
    commits or rolls back (see the module docstring)."""
    pending: list[PendingEntry] = session.info.setdefault(_REFUSED, [])
    pending.append(
        PendingEntry(
            actor=actor[:64],
            action=REFUSED,
            resource=resource[:64],
            at=now.astimezone(dt.UTC).isoformat(),
            resource_id=None if resource_id is None else str(resource_id)[:64],
            nhs_number=nhs_number,
            detail=f"attempted={action}; why={reason}"[:1000],
        )
    )


def has_refusals(session: Session) -> bool:
    """True when a refusal is waiting to be written for this session's transaction."""
    return bool(session.info.get(_REFUSED))


def refusal_count(session: Session) -> int:
    """How many refusals are waiting to be written for this session's transaction (to
    tell whether one step of a transaction recorded its own)."""
    return len(session.info.get(_REFUSED, ()))


@event.listens_for(Session, "after_transaction_end")
def _write_refused(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    entries = session.info.pop(_REFUSED, None)
    if entries:
        _write_own(session, entries)


# The append's three statements, built once: a statement built per call costs more to
# construct and to key for the compiled cache than it takes to run (Core, not ORM:
# every audited request runs them).
_HEAD = table_of(AuditHead)
_READ_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_ENTRIES = insert(table_of(AuditEntry))
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


def _append(session: Session | Connection, entries: list[PendingEntry]) -> None:
    """Chain ``entries`` after the head (locked) in the caller's transaction."""
    seq, prev = session.execute(_READ_HEAD).one()
    rows = []
    for p in entries:
        seq += 1
        digest = entry_hash(
            seq, p.at, p.actor, p.action, p.resource, p.resource_id, p.nhs_number, p.detail, prev
        )
        rows.append(
            {
                "seq": seq,
                "at": p.at,
                "actor": p.actor,
                "action": p.action,
                "resource": p.resource,
                "resource_id": p.resource_id,
                "nhs_number": p.nhs_number,
                "detail": p.detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    session.execute(_INSERT_ENTRIES, rows)
    session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})


_AFTER = "careweave_audit_after_commit"


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    entries = session.info.pop(_PENDING, None)
    if not entries:
        return
    if is_read_only(session):
        # A read transaction must not become a writer: chain them once it has committed.
        session.info[_AFTER] = entries
        return
    _append(session, entries)


@event.listens_for(Session, "after_commit")
def _chain_after_read(session: Session) -> None:
    entries = session.info.pop(_AFTER, None)
    if entries:
        _write_own(session, entries)


def _write_own(session: Session, entries: list[PendingEntry]) -> None:
    """Chain ``entries`` in a transaction of their own, on the session's engine."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as own:
        _append(own, entries)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_AFTER, None)


@dataclass(frozen=True)
class Verification:
    count: int
    problem: str | None  # the first bad entry, in words; None when the chain is intact

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Anchor:
    """The chain's tip at a moment, kept outside the database."""

    seq: int  # entries in the chain then (0: empty)
    hash: str  # the last entry's hash (GENESIS when empty)
    at: str  # when it was taken (UTC, ISO 8601); for people, not checked

    def line(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at})


def head(session: Session, now: dt.datetime) -> Anchor:
    """The tip of the chain as it is committed now."""
    row = session.get(AuditHead, 1)
    seq, digest = (row.last_seq, row.last_hash) if row is not None else (0, GENESIS)
    return Anchor(seq, digest, now.astimezone(dt.UTC).isoformat())


_HASH = re.compile(r"^[0-9a-f]{64}$")


def read_anchors(path: Path) -> list[Anchor]:
    """Anchors from a file of JSON lines (blank lines ignored); a bad line is an InputError
    naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"--anchors {path}: cannot read ({e.strerror})") from e
    out: list[Anchor] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not a JSON line ({e.msg})") from e
        if not isinstance(d, dict):
            raise InputError(f"{path}:{n}: expected an object with seq, hash and at")
        seq, digest, at = d.get("seq"), d.get("hash"), d.get("at")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InputError(f"{path}:{n}: seq must be a whole number >= 0")
        if not isinstance(digest, str) or not _HASH.match(digest):
            raise InputError(f"{path}:{n}: hash must be 64 lower-case hex digits")
        if not isinstance(at, str):
            raise InputError(f"{path}:{n}: at must be a time (ISO 8601)")
        out.append(Anchor(seq, digest, at))
    return out


def check_anchors(session: Session, anchors: Iterable[Anchor]) -> str | None:
    """The first anchor the chain no longer matches, in words; None when all match."""
    for a in anchors:
        if a.seq == 0:
            continue
        e = session.get(AuditEntry, a.seq)
        if e is None:
            return (
                f"anchor of {a.at}: entry {a.seq} is missing "
                "(the chain is shorter than when it was anchored)"
            )
        if e.hash != a.hash:
            return (
                f"anchor of {a.at}: entry {a.seq} no longer has its anchored hash "
                "(the chain was rewritten)"
            )
    return None


def verify(session: Session, anchors: Iterable[Anchor] = ()) -> Verification:
    """Walk the chain from the start; report the first entry that does not fit, then the
    first anchor the (internally consistent) chain does not match."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    t = AuditEntry.__table__.c
    # Streamed plain rows in partitions (a server-side cursor on PostgreSQL), hashed inline
    # with the one encoder: at 10,000,000 entries (bench/bench_audit.py) the walk is bound by
    # hashing, so nothing per row but the three checks (sequence, link, hash) is done.
    result = session.execute(
        select(
            t.seq,
            t.at,
            t.actor,
            t.action,
            t.resource,
            t.resource_id,
            t.nhs_number,
            t.detail,
            t.prev_hash,
            t.hash,
        )
        .order_by(t.seq)
        .execution_options(stream_results=True, yield_per=VERIFY_BATCH)
    )
    sha256, body = hashlib.sha256, entry_body
    for part in result.partitions():
        for seq, at, actor, action, resource, resource_id, nhs, detail, prev, digest in part:
            if seq != expected_seq:
                return Verification(
                    count, f"entry {expected_seq}: missing (next entry found is {seq})"
                )
            if prev != expected_prev:
                return Verification(
                    count, f"entry {seq}: does not follow entry {seq - 1} (removed or reordered)"
                )
            text = body(seq, at, actor, action, resource, resource_id, nhs, detail, prev)
            if sha256(text.encode()).hexdigest() != digest:
                return Verification(count, f"entry {seq}: altered (its hash does not match)")
            expected_prev = digest
            expected_seq += 1
            count += 1
    result.close()
    tip = session.get(AuditHead, 1)
    if tip is not None and (tip.last_seq != count or tip.last_hash != expected_prev):
        return Verification(
            count, f"entry {count + 1}: missing (the chain head records {tip.last_seq} entries)"
        )
    return Verification(count, check_anchors(session, anchors))
