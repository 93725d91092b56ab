"""Staff in post as whole-time equivalents (WTE), by locality and staff group.

Two sources, one or the other:

- **the store** (default): each active user counts as 1.0 WTE (the store holds no
  hours). A user belongs to a staff group when their user role is in the group's
  ``user_roles`` or they sit in an open care team in one of its ``team_roles``; a
  user in several groups has their 1.0 split evenly between them, so nobody counts
  twice. Their locality is their own (``users.locality_id``), else their
  organisation's (practice -> cluster -> locality), else the locality where most of
  the people in their care teams live; else "not known".
- **a staffing CSV file** (``--staffing FILE``): columns ``locality`` (the locality's
  code), ``staff`` (a staff group id from the norms) and ``wte`` (a number, 0 or
  more); optional ``organisation`` (the employer, for the reader). Rows for the same
  locality and group add up. It replaces the store's figures whole. A bad row stops
  with ``FILE:LINE: field: problem``.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.capacity.norms import Norms
from careweave.errors import InputError
from careweave.store.models import CareTeamMember, Organisation, Person, User

UNKNOWN = "unknown"
# (locality, staff group id) -> WTE
InPost = dict[tuple[str, str], float]


def locality_of(session: Session) -> dict[str, str]:
    """Every organisation's locality (practice -> cluster -> locality; a locality is its own)."""
    orgs = {o.org_id: o for o in session.execute(select(Organisation)).scalars()}
    out: dict[str, str] = {}
    for start in orgs:
        org_id: str | None = start
        seen: set[str] = set()
        while org_id is not None and org_id in orgs and org_id not in seen:
            seen.add(org_id)
            if orgs[org_id].org_type == "locality":
                out[start] = org_id
                break
            org_id = orgs[org_id].parent_id
    return out


def split(memberships: Iterable[tuple[int, str, str]]) -> InPost:
    """Pure arithmetic: (user, locality, group) memberships -> WTE per (locality, group),
    each user's 1.0 WTE split evenly over the groups they belong to."""
    groups: dict[int, set[str]] = defaultdict(set)
    where: dict[int, str] = {}
    for user, loc, group in memberships:
        groups[user].add(group)
        where[user] = loc
    out: InPost = defaultdict(float)
    for user, gs in groups.items():
        for g in gs:
            out[(where[user], g)] += 1.0 / len(gs)
    return dict(out)


def from_store(session: Session, norms: Norms) -> InPost:
    """WTE in post from the store's active users and open care-team memberships."""
    by_user_role: dict[str, list[str]] = defaultdict(list)
    by_team_role: dict[str, list[str]] = defaultdict(list)
    for n in norms.staff:
        for r in n.user_roles:
            by_user_role[r].append(n.id)
        for r in n.team_roles:
            by_team_role[r].append(n.id)
    users = {u.id: u for u in session.execute(select(User).where(User.active)).scalars()}
    org_loc = locality_of(session)
    groups: dict[int, set[str]] = defaultdict(set)
    for u in users.values():
        groups[u.id].update(by_user_role.get(u.role, ()))
    team_places: dict[int, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(
            CareTeamMember.user_id,
            CareTeamMember.team_role,
            Person.practice_id,
            Person.locality_id,
        )
        .join(Person, Person.nhs_number == CareTeamMember.nhs_number)
        .where(CareTeamMember.ended_at.is_(None))
    ).tuples()
    for uid, team_role, practice, own_loc in rows:
        if uid not in users:
            continue
        found = by_team_role.get(team_role, ())
        if found:
            groups[uid].update(found)
            loc = (org_loc.get(practice) if practice else None) or own_loc
            team_places[uid][loc or UNKNOWN] += 1
    memberships: list[tuple[int, str, str]] = []
    for uid, gs in groups.items():
        u = users[uid]
        loc = u.locality_id or (org_loc.get(u.org_id) if u.org_id else None)
        if loc is None and team_places[uid]:
            loc = max(sorted(team_places[uid]), key=lambda k: team_places[uid][k])
        memberships += [(uid, loc or UNKNOWN, g) for g in gs]
    return split(memberships)


def from_csv(path: Path | str, norms: Norms) -> InPost:
    """WTE in post from a staffing file (columns locality, staff, wte[, organisation])."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"{p}: cannot read the staffing file ({e.strerror or e})") from e
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("locality", "staff", "wte") if c not in header]
    if missing:
        raise InputError(f"{p}: missing column {missing[0]!r} (need locality, staff, wte)")
    out: InPost = defaultdict(float)
    known = {n.id for n in norms.staff}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        loc, staff, wte_text = row["locality"], row["staff"], row["wte"]
        if not loc:
            raise InputError(f"{p}:{line}: locality: give the locality's code")
        if staff not in known:
            raise InputError(
                f"{p}:{line}: staff: {staff!r} is not a staff group of the norms "
                f"({', '.join(sorted(known))})"
            )
        try:
            wte = float(wte_text)
        except ValueError:
            raise InputError(f"{p}:{line}: wte: {wte_text!r} is not a number") from None
        if not wte >= 0 or wte > 10_000:
            raise InputError(f"{p}:{line}: wte: must be a number from 0 to 10,000")
        out[(loc, staff)] += wte
    return dict(out)
