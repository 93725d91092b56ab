"""Unmet need: what referrals say is missing, for commissioners (seed 000 §6.6: care
co-ordinators "inform primary care and joint commissioners of any needs and
service-related issues").

Three kinds, each referral counted once, in this order:

1. ``declined``: declined for a reason that is unmet need (``care.referrals.UNMET_NEED``:
   no capacity, outside the area, not eligible), received in the period;
2. ``waiting_past_standard``: still waiting for a response (received or triaged)
   after its ``respond_by`` (the service's response standard for its urgency);
3. ``waiting_at_capacity``: still waiting, within its standard, at a service that is
   at capacity now: its open referrals (accepted, booked or seen) reach the
   capacity the norms give it (``[services] capacity``), or its staff declined a
   referral for no capacity in the last ``no_capacity_days`` days.

Counted by service, locality (the person's, from the people index) and **need**,
the person's CCM level (seed 000: "4 levels of patient need") from their latest
risk score (0: not scored). Every count passes
:func:`careweave.measures.disclosure.count` before it is shown.

**The staff's words** (``referrals.unmet_need_note``, asked for on the decline form)
are free text and may name someone. Commissioners (analysts: pseudonymised data
only) see them de-identified, by :func:`reasons`: only for a service with at least
``THRESHOLD`` (8) declines that carry a note in the period, so no note points to
one of a handful of people; without date, locality, level or reference; sorted,
not in the order they were written; with NHS numbers and other long numbers,
telephone numbers, postcodes, email addresses, the referred person's names and
any title followed by a name ("Mrs Jones") replaced by "[removed]". Staff with a
relationship with the person read the note whole on the referral page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.capacity.norms import LEVELS, Norms
from careweave.capacity.staffing import UNKNOWN, locality_of
from careweave.care.referrals import DECLINE_REASONS, UNMET_NEED
from careweave.measures.disclosure import THRESHOLD, Cell, count
from careweave.store.models import Organisation, Person, Referral, Service

KINDS = {
    "declined": "Declined: unmet need",
    "waiting_past_standard": "Waiting past the response standard",
    "waiting_at_capacity": "Waiting at a service at capacity",
}
WAITING = ("received", "triaged")
ON_BOOKS = ("accepted", "scheduled", "attended")
REMOVED = "[removed]"
_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # email
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE),  # postcode
    re.compile(r"(?:\+?\d[\s-]?){7,}\d"),  # NHS numbers, telephones, any long number
    re.compile(
        r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord|Rev)\.?\s+[A-Z][\w'-]*"
        r"(?:\s+[A-Z][\w'-]*)?"
    ),
]


@dataclass(frozen=True)
class Row:
    service_id: str
    locality: str
    level: int
    kind: str
    reason: str | None  # the decline reason, for ``declined``
    count: Cell

    def as_json(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "locality": self.locality,
            "need_level": self.level,
            "kind": self.kind,
            "decline_reason": self.reason,
            "count": self.count.value,
        }


@dataclass(frozen=True)
class ServiceState:
    service_id: str
    name: str
    on_books: int  # open referrals (accepted, booked, seen): a count of work, not people
    capacity: int | None
    recent_no_capacity: int
    at_capacity: bool


@dataclass(frozen=True)
class UnmetNeed:
    since: dt.date
    until: dt.datetime
    rows: list[Row]  # only groups with a count above 0
    services: dict[str, ServiceState]
    localities: dict[str, str]  # code -> name
    reasons: dict[str, list[str]]  # service id -> de-identified notes (shown services only)
    held_back: dict[str, int]  # service id -> notes not shown (fewer than THRESHOLD)
    # (dimension, value) -> true count: service, locality, level, kind, reason, ("all", None),
    # service_locality (service, locality) and locality_kind (locality, kind)
    totals: dict[tuple[str, Any], int] = field(default_factory=dict, repr=False)

    def total(self, key: str, value: Any = None) -> Cell:
        """A shown total over the true counts of one dimension's value (rounded once)."""
        return count(self.totals.get((key, value), 0))

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "threshold": THRESHOLD,
            "rows": [r.as_json() for r in self.rows],
            "services": [
                {
                    "service_id": s.service_id,
                    "name": s.name,
                    "capacity": s.capacity,
                    "at_capacity": s.at_capacity,
                }
                for s in self.services.values()
            ],
            "localities": self.localities,
            "reasons": self.reasons,
            "reasons_held_back": self.held_back,
        }


def scrub(text: str, names: list[str]) -> str:
    """``text`` without the identifiers a note may carry (see the module docstring)."""
    out = text
    for pattern in _PATTERNS:
        out = pattern.sub(REMOVED, out)
    for name in sorted({n for n in names if n and len(n) > 1}, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(name)}\b", REMOVED, out, flags=re.IGNORECASE)
    out = " ".join(out.split())
    marker = re.escape(REMOVED)
    return re.sub(rf"{marker}(?:\s+{marker})+", REMOVED, out)


def service_states(session: Session, norms: Norms, now: dt.datetime) -> dict[str, ServiceState]:
    """Every active service and whether it is at capacity now."""
    books: dict[str, int] = {
        sid: int(n)
        for sid, n in session.execute(
            select(Referral.service_id, func.count())
            .where(Referral.status.in_(ON_BOOKS))
            .group_by(Referral.service_id)
        ).tuples()
    }
    recent_from = now - dt.timedelta(days=norms.services.no_capacity_days)
    recent: dict[str, int] = {
        sid: int(n)
        for sid, n in session.execute(
            select(Referral.service_id, func.count())
            .where(
                Referral.status == "declined",
                Referral.decline_reason == "no_capacity",
                Referral.responded_at >= recent_from,
            )
            .group_by(Referral.service_id)
        ).tuples()
    }
    out = {}
    for svc in session.execute(select(Service).order_by(Service.name)).scalars():
        cap = norms.services.capacity.get(svc.id)
        n, r = int(books.get(svc.id, 0)), int(recent.get(svc.id, 0))
        full = (cap is not None and n >= cap) or r > 0
        out[svc.id] = ServiceState(svc.id, svc.name, n, cap, r, full)
    return out


def compute(session: Session, norms: Norms, now: dt.datetime, months: int = 12) -> UnmetNeed:
    """Unmet need over the last ``months`` months (declines received since then; waits now)."""
    since = (now - dt.timedelta(days=round(months * 365.25 / 12))).date()
    since_at = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    states = service_states(session, norms, now)
    full = {sid for sid, s in states.items() if s.at_capacity}
    rows = session.execute(
        select(
            Referral.service_id,
            Referral.status,
            Referral.decline_reason,
            Referral.respond_by,
            Referral.unmet_need_note,
            Person.practice_id,
            Person.ccm_level,
            Person.given_name,
            Person.family_name,
        )
        .join(Person, Person.nhs_number == Referral.nhs_number)
        .where(
            (Referral.status.in_(WAITING))
            | (
                (Referral.status == "declined")
                & Referral.decline_reason.in_(UNMET_NEED)
                & (Referral.received_at >= since_at)
            )
        )
    ).tuples()
    org_loc = locality_of(session)
    true: Counter[tuple[str, str, int, str, str | None]] = Counter()
    notes: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for sid, status, reason, respond_by, note, practice, level, given, family in rows:
        loc = org_loc.get(practice, UNKNOWN) if practice else UNKNOWN
        lv = int(level) if level in LEVELS else 0
        if status == "declined":
            true[(sid, loc, lv, "declined", reason)] += 1
            if note:
                notes[sid].append((note, [given or "", family or ""]))
        elif respond_by < now:
            true[(sid, loc, lv, "waiting_past_standard", None)] += 1
        elif sid in full:
            true[(sid, loc, lv, "waiting_at_capacity", None)] += 1
    totals: Counter[tuple[str, Any]] = Counter()
    for (sid, loc, lv, kind, reason), n in true.items():
        for key in (("service", sid), ("locality", loc), ("level", lv), ("kind", kind)):
            totals[key] += n
        totals[("all", None)] += n
        totals[("service_locality", (sid, loc))] += n
        totals[("locality_kind", (loc, kind))] += n
        if reason:
            totals[("reason", reason)] += n
    names = {
        o.org_id: o.name
        for o in session.execute(
            select(Organisation).where(Organisation.org_type == "locality")
        ).scalars()
    }
    localities = {loc: names.get(loc, "Not known") for (_, loc, _, _, _) in true}
    reasons: dict[str, list[str]] = {}
    held: dict[str, int] = {}
    for sid, found in notes.items():
        if len(found) >= THRESHOLD:
            reasons[sid] = sorted(scrub(text, who) for text, who in found)
        else:
            held[sid] = len(found)
    result = UnmetNeed(
        since=since,
        until=now,
        rows=[
            Row(sid, loc, lv, kind, reason, count(n))
            for (sid, loc, lv, kind, reason), n in sorted(
                true.items(),
                key=lambda kv: (kv[0][0], kv[0][1], -kv[0][2], kv[0][3], kv[0][4] or ""),
            )
        ],
        services=states,
        localities=localities,
        reasons=reasons,
        held_back=held,
        totals=dict(totals),
    )
    return result


def reason_words(reason: str | None) -> str:
    return DECLINE_REASONS.get(reason or "", "") if reason else ""
