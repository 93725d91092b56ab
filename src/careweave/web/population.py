"""Aggregates for the commissioners' pages: pyramid, segments with spend, movement.

Counts come from the people index (latest score per person) without people who
object to secondary use or have died; spend and movement need the warehouse.
Nothing here carries an NHS number out: only counts per group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.store.models import Objection, Organisation, Person
from careweave.web.cache import TtlCache

LEVELS = (4, 3, 2, 1)
TTL = 60.0
_CACHE = TtlCache(TTL)


def _cached(session: Session, key: str, make: Any) -> Any:
    return _CACHE.get((str(session.get_bind().engine.url), key), make)


def _included() -> Any:
    objectors = select(Objection.nhs_number).where(
        Objection.kind == "secondary_use", Objection.withdrawn_at.is_(None)
    )
    return (Person.date_of_death.is_(None)) & Person.nhs_number.not_in(objectors)


@dataclass(frozen=True)
class Group:
    org_id: str
    name: str
    counts: dict[int, int]  # level -> true count (suppressed only when shown)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def pyramid(session: Session, by: str) -> list[Group]:
    """True counts per CCM level by 'locality', 'cluster' or 'practice'."""

    def make() -> list[Group]:
        rows = session.execute(
            select(Person.practice_id, Person.ccm_level, func.count())
            .where(_included())
            .group_by(Person.practice_id, Person.ccm_level)
        ).all()
        orgs = {o.org_id: o for o in session.execute(select(Organisation)).scalars()}

        def up(org_id: str | None, kind: str) -> str | None:
            seen = set()
            while org_id is not None and org_id in orgs and org_id not in seen:
                seen.add(org_id)
                if orgs[org_id].org_type == kind:
                    return org_id
                org_id = orgs[org_id].parent_id
            return None

        kind = {"locality": "locality", "cluster": "cluster", "practice": "gp_practice"}[by]
        acc: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for practice, level, n in rows:
            key = up(practice, kind) or "unknown"
            acc[key][int(level) if level else 0] += int(n)
        return [
            Group(k, orgs[k].name if k in orgs else "Not known", dict(v))
            for k, v in sorted(
                acc.items(), key=lambda kv: orgs[kv[0]].name if kv[0] in orgs else "~"
            )
        ]

    result: list[Group] = _cached(session, f"pyramid:{by}", make)
    return result


def segment_counts(session: Session) -> dict[str, int]:
    def make() -> dict[str, int]:
        rows = session.execute(
            select(Person.segment, func.count()).where(_included()).group_by(Person.segment)
        ).all()
        return {str(s or "not scored"): int(n) for s, n in rows}

    result: dict[str, int] = _cached(session, "segments", make)
    return result


def level_counts(session: Session) -> dict[int, int]:
    total: dict[int, int] = defaultdict(int)
    for g in pyramid(session, "locality"):
        for lv, n in g.counts.items():
            total[lv] += n
    return dict(total)
