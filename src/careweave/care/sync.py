"""People index sync: the one place the operational side reads the warehouse.

Reads ``people`` (and ``organisations`` to find each practice's locality) and
the latest ``risk_scores`` row per person from a DuckDB warehouse opened
read-only, and upserts them into the store. A re-sync updates in place; people
no longer in the warehouse are kept (their records are referenced), and a death
recorded operationally is not undone by a warehouse that has not caught up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from careweave.dataset.tables import IDENTIFYING_COLUMNS
from careweave.errors import InputError
from careweave.security import audit
from careweave.store.models import Organisation, Person, PersonLink, name_key

PEOPLE_COLUMNS = (
    "nhs_number",
    "date_of_birth",
    "sex",
    "ethnic_group",
    "small_area",
    "deprivation_decile",
    "practice_id",
    "local_authority_id",
    "care_home_resident",
    "date_of_death",
)
# Who the person is: the dataset's identifying people columns (names, address, telephone)
# and how to talk with them. Copied when the warehouse has them, for care staff's banner and
# search only; no analytics output reads them.
IDENTITY_COLUMNS = dict(IDENTIFYING_COLUMNS)["people"] + (
    "preferred_language",
    "interpreter_required",
)
RISK_COLUMNS = {
    "as_of": "risk_as_of",
    "probability": "risk_probability",
    "percentile": "risk_percentile",
    "risk_band": "risk_band",
    "ccm_level": "ccm_level",
    "segment": "segment",
    "frailty_category": "frailty_category",
    "readmitter": "readmitter",
    "explanation": "risk_explanation",
    "model_version": "model_version",
}


@dataclass(frozen=True)
class SyncResult:
    added: int
    updated: int
    with_scores: int
    organisations: int
    relationships: int = 0


def read_warehouse(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(people with their latest score, organisations) from the warehouse, read-only."""
    import duckdb

    from careweave import duck

    if not path.is_file():
        raise InputError(f"--warehouse {path}: no such file")
    try:
        con = duck.connect(path, read_only=True)
    except duckdb.Error as e:
        raise InputError(f"--warehouse {path}: not a DuckDB warehouse ({e})") from e
    try:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if "people" not in tables:
            raise InputError(f"--warehouse {path}: has no people table (load a dataset first)")
        have = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'people'"
            ).fetchall()
        }
        columns = PEOPLE_COLUMNS + tuple(c for c in IDENTITY_COLUMNS if c in have)
        people_sql = f"SELECT {', '.join(columns)} FROM people"
        if "risk_scores" in tables:
            risk = ", ".join(f"r.{c} AS {a}" for c, a in RISK_COLUMNS.items())
            people_sql = (
                f"SELECT p.*, {risk} FROM ({people_sql}) p LEFT JOIN ("
                "SELECT * FROM risk_scores QUALIFY row_number() OVER "
                "(PARTITION BY nhs_number ORDER BY as_of DESC) = 1) r USING (nhs_number)"
            )
        cur = con.execute(people_sql)
        names = [d[0] for d in cur.description]
        people = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        orgs: list[dict[str, Any]] = []
        if "organisations" in tables:
            cur = con.execute("SELECT org_id, org_type, name, parent_id FROM organisations")
            orgs = [
                dict(zip(("org_id", "org_type", "name", "parent_id"), r, strict=True))
                for r in cur.fetchall()
            ]
    except duckdb.Error as e:
        raise InputError(f"--warehouse {path}: {e}") from e
    finally:
        con.close()
    return people, orgs


def read_links(path: Path) -> list[dict[str, Any]]:
    """The warehouse's ``person_relationships`` between people of the population (none when
    the warehouse has no such table, or only contacts outside it)."""
    import duckdb

    from careweave import duck

    con = duck.connect(path, read_only=True)
    try:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if "person_relationships" not in tables:
            return []
        cols = ("nhs_number", "related_nhs_number", "relationship", "start_date", "end_date")
        cur = con.execute(
            f"SELECT {', '.join(cols)} FROM person_relationships "
            "WHERE related_nhs_number IS NOT NULL ORDER BY id"
        )
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    except duckdb.Error as e:
        raise InputError(f"--warehouse {path}: person_relationships: {e}") from e
    finally:
        con.close()


def sync_links(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> int:
    """Upsert links between people both in the index; returns how many were added or changed.
    Links entered by staff are kept; a warehouse link's dates follow the warehouse."""
    known = set(session.execute(select(Person.nhs_number)).scalars())
    have = {
        (link.nhs_number, link.related_nhs_number, link.relationship): link
        for link in session.execute(select(PersonLink)).scalars()
    }
    n = 0
    for r in rows:
        if r["nhs_number"] not in known or r["related_nhs_number"] not in known:
            continue
        key = (r["nhs_number"], r["related_nhs_number"], r["relationship"])
        link = have.get(key)
        if link is None:
            link = PersonLink(
                nhs_number=key[0],
                related_nhs_number=key[1],
                relationship=key[2],
                source="warehouse",
                added_at=now,
            )
            session.add(link)
            have[key] = link
        elif (link.start_date, link.end_date) == (r["start_date"], r["end_date"]):
            continue
        link.start_date, link.end_date = r["start_date"], r["end_date"]
        n += 1
    session.flush()
    return n


def locality_of(org_id: str | None, orgs: dict[str, dict[str, Any]]) -> str | None:
    """Pure: walk practice -> cluster -> locality; None when there is no locality above."""
    seen = set()
    while org_id is not None and org_id in orgs and org_id not in seen:
        seen.add(org_id)
        if orgs[org_id]["org_type"] == "locality":
            return org_id
        org_id = orgs[org_id]["parent_id"]
    return None


def sync(session: Session, warehouse: Path, now: dt.datetime) -> SyncResult:
    people, org_rows = read_warehouse(warehouse)
    orgs = {o["org_id"]: o for o in org_rows}
    existing_orgs = set(session.execute(select(Organisation.org_id)).scalars())
    new_orgs = [o for o in org_rows if o["org_id"] not in existing_orgs]
    old_orgs = [o for o in org_rows if o["org_id"] in existing_orgs]
    if new_orgs:
        session.execute(insert(Organisation), new_orgs)
    if old_orgs:
        session.execute(update(Organisation), old_orgs)
    existing = set(session.execute(select(Person.nhs_number)).scalars())
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    scored = 0
    for row in people:
        rec = {c: row[c] for c in PEOPLE_COLUMNS}
        rec["care_home_resident"] = bool(rec["care_home_resident"])
        for c in IDENTITY_COLUMNS:
            if c in row:
                rec[c] = row[c]
        if "interpreter_required" in rec and rec["interpreter_required"] is not None:
            rec["interpreter_required"] = bool(rec["interpreter_required"])
        if "given_name" in rec or "family_name" in rec:
            rec["given_key"] = name_key(rec.get("given_name"))
            rec["family_key"] = name_key(rec.get("family_name"))
        rec["locality_id"] = locality_of(row["practice_id"], orgs)
        rec["synced_at"] = now
        for a in RISK_COLUMNS.values():
            rec[a] = row.get(a)
        if rec["risk_as_of"] is not None:
            scored += 1
        rec["risk_explanation"] = list(rec["risk_explanation"] or [])
        if rec["ccm_level"] is not None:
            rec["ccm_level"] = int(rec["ccm_level"])
        if rec["nhs_number"] in existing:
            if rec["date_of_death"] is None:
                # A death already recorded by an event stands until the warehouse catches up.
                del rec["date_of_death"]
            changed.append(rec)
        else:
            added.append(rec)
    for start in range(0, len(added), 5000):
        session.execute(insert(Person), added[start : start + 5000])
    for start in range(0, len(changed), 5000):
        session.execute(update(Person), changed[start : start + 5000])
    linked = sync_links(session, read_links(warehouse), now)
    audit.record(
        session,
        actor="system:sync",
        action="write",
        resource="people_index",
        detail=f"sync from {warehouse.name}: {len(added)} added, {len(changed)} updated, "
        f"{linked} relationships",
        now=now,
    )
    return SyncResult(len(added), len(changed), scored, len(org_rows), linked)
