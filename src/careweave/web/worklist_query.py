"""The worklist query: a user's visible population by CCM level, filtered, sorted, paged.

Visibility is the legitimate-relationship rule of careweave.security.access
expressed as SQL, so a page is one indexed query instead of a check per
person: staff of the person's practice, or the person's locality team unless
the person objects to sharing. Every row shown is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.store.models import (
    Episode,
    Event,
    Notification,
    Objection,
    Organisation,
    Person,
    User,
)
from careweave.web.cache import TtlCache

PAGE_SIZE = 25
RECENT_ADMISSION_DAYS = 30
TELEHEALTH_ALERT_DAYS = 14
SORTS: dict[str, Any] = {
    "risk": Person.risk_probability,
    "level": Person.ccm_level,
    "age": Person.date_of_birth,
    "nhs": Person.nhs_number,
}
FRAILTY = ("fit", "mild", "moderate", "severe", "unknown")


@dataclass
class Filters:
    levels: list[int] = field(default_factory=lambda: [4, 3])
    area: str | None = None
    segment: str | None = None
    frailty: str | None = None
    not_case_managed: bool = False
    recent_admission: bool = False
    telehealth_alert: bool = False
    sort: str = "risk"
    direction: str = "desc"
    page: int = 1

    def query_items(self, page: int | None = None) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = [("level", str(lv)) for lv in self.levels]
        for k in ("area", "segment", "frailty"):
            v = getattr(self, k)
            if v:
                items.append((k, v))
        for k in ("not_case_managed", "recent_admission", "telehealth_alert"):
            if getattr(self, k):
                items.append((k, "1"))
        items += [("sort", self.sort), ("dir", self.direction)]
        if page is not None:
            items.append(("page", str(page)))
        return items


@dataclass
class Area:
    org_id: str
    name: str
    org_type: str
    practices: list[str]


_ORGS = TtlCache(60.0)


def organisations(session: Session) -> dict[str, Organisation]:
    """The organisation tree, cached for a minute (it changes only at sync)."""

    def load() -> dict[str, Organisation]:
        rows = {o.org_id: o for o in session.execute(select(Organisation)).scalars()}
        for o in rows.values():
            session.expunge(o)
        return rows

    return _ORGS.get(str(session.get_bind().engine.url), load)


def areas(session: Session, user: User) -> list[Area]:
    """The clusters and practices a user may pick within their scope."""
    orgs = organisations(session)
    children: dict[str, list[str]] = {}
    for o in orgs.values():
        if o.parent_id:
            children.setdefault(o.parent_id, []).append(o.org_id)

    def practices_under(org_id: str) -> list[str]:
        out, stack, seen = [], [org_id], set()
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            if orgs.get(cur) is not None and orgs[cur].org_type == "gp_practice":
                out.append(cur)
            stack += children.get(cur, [])
        return sorted(out)

    result: list[Area] = []
    if user.locality_id and user.locality_id in orgs:
        loc = orgs[user.locality_id]
        result.append(Area(loc.org_id, loc.name, "locality", practices_under(loc.org_id)))
        for oid in sorted(children.get(loc.org_id, [])):
            o = orgs[oid]
            result.append(Area(o.org_id, o.name, o.org_type, practices_under(oid)))
            for pid in sorted(children.get(oid, [])):
                if orgs[pid].org_type == "gp_practice":
                    result.append(Area(pid, orgs[pid].name, "gp_practice", [pid]))
    if user.org_id and user.org_id in orgs and all(a.org_id != user.org_id for a in result):
        result.append(Area(user.org_id, orgs[user.org_id].name, "gp_practice", [user.org_id]))
    return result


def visible(user: User) -> ColumnElement[bool]:
    objectors = select(Objection.nhs_number).where(
        Objection.kind == "sharing", Objection.withdrawn_at.is_(None)
    )
    parts: list[ColumnElement[bool]] = []
    if user.org_id:
        parts.append(Person.practice_id == user.org_id)
    if user.locality_id:
        parts.append(
            and_(Person.locality_id == user.locality_id, Person.nhs_number.not_in(objectors))
        )
    if not parts:
        return false()
    return or_(*parts) if len(parts) > 1 else parts[0]


def open_episode() -> ColumnElement[bool]:
    return exists().where(Episode.nhs_number == Person.nhs_number, Episode.end_date.is_(None))


def build(user: User, f: Filters, now: dt.datetime, area_list: list[Area]) -> Select[Any]:
    q = select(Person).where(visible(user), Person.date_of_death.is_(None))
    if user.locality_id and not user.org_id:
        q = q.where(Person.locality_id == user.locality_id)
    if f.area:
        chosen = next((a for a in area_list if a.org_id == f.area), None)
        if chosen is not None and chosen.org_type != "locality":
            q = q.where(Person.practice_id.in_(chosen.practices))
    if f.levels:
        q = q.where(Person.ccm_level.in_(f.levels))
    if f.segment:
        q = q.where(Person.segment == f.segment)
    if f.frailty:
        q = q.where(Person.frailty_category == f.frailty)
    if f.not_case_managed:
        q = q.where(~open_episode())
    if f.recent_admission:
        since = now - dt.timedelta(days=RECENT_ADMISSION_DAYS)
        q = q.where(
            exists().where(
                Event.nhs_number == Person.nhs_number,
                Event.type == "admission",
                Event.occurred_at >= since,
            )
        )
    if f.telehealth_alert:
        since = now - dt.timedelta(days=TELEHEALTH_ALERT_DAYS)
        q = q.where(
            exists().where(
                Notification.nhs_number == Person.nhs_number,
                Notification.kind.like("telehealth:%"),
                Notification.created_at >= since,
            )
        )
    return q


def run(
    session: Session,
    user: User,
    f: Filters,
    now: dt.datetime,
    area_list: list[Area],
    page_size: int | None = PAGE_SIZE,
) -> tuple[int, list[tuple[Person, bool]]]:
    """(total matching, the requested page of (person, on the register now))."""
    q = build(user, f, now, area_list)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    col = SORTS.get(f.sort, Person.risk_probability)
    order = col.desc() if f.direction == "desc" else col.asc()
    if f.sort == "age":  # older first when descending
        order = col.asc() if f.direction == "desc" else col.desc()
    # Two steps: the page's keys from the (covering) index, then only those rows whole.
    keys_q = q.with_only_columns(Person.nhs_number).order_by(order.nulls_last(), Person.nhs_number)
    if page_size is not None:
        keys_q = keys_q.offset((max(f.page, 1) - 1) * page_size).limit(page_size)
    keys = list(session.execute(keys_q).scalars())
    if not keys:
        return total, []
    found: dict[str, tuple[Person, bool]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows_q = select(Person, open_episode().label("enrolled")).where(
            Person.nhs_number.in_(chunk)
        )
        for p, e in session.execute(rows_q).tuples():
            found[p.nhs_number] = (p, bool(e))
    return total, [found[k] for k in keys if k in found]


EXPORT_COLUMNS = (
    Person.nhs_number,
    Person.date_of_birth,
    Person.sex,
    Person.practice_id,
    Person.ccm_level,
    Person.risk_percentile,
    Person.risk_probability,
    Person.segment,
    Person.frailty_category,
    Person.risk_explanation,
)


def export(
    session: Session,
    user: User,
    f: Filters,
    now: dt.datetime,
    area_list: list[Area],
    limit: int,
) -> tuple[int, list[Any]]:
    """(total matching, up to ``limit`` rows of the CSV's columns plus ``enrolled``), in
    the page's order: plain rows in one query, not ORM objects, so a 50,000-row export
    costs a fraction of the CPU (and the GIL) of loading people whole."""
    q = build(user, f, now, area_list)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    col = SORTS.get(f.sort, Person.risk_probability)
    order = col.desc() if f.direction == "desc" else col.asc()
    if f.sort == "age":
        order = col.asc() if f.direction == "desc" else col.desc()
    rows_q = (
        q.with_only_columns(*EXPORT_COLUMNS, open_episode().label("enrolled"))
        .order_by(order.nulls_last(), Person.nhs_number)
        .limit(limit)
    )
    return total, list(session.execute(rows_q).all())


def segments(session: Session) -> list[str]:
    return [
        s
        for s in session.execute(
            select(Person.segment)
            .where(Person.segment.is_not(None))
            .distinct()
            .order_by(Person.segment)
        ).scalars()
        if s
    ]
