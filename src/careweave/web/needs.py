"""The health needs assessment for the pages and the PDF pack, read from the warehouse.

Reads the tables ``careweave needs`` writes (``needs_prevalence``, ``needs_levels``,
``needs_runs``: :mod:`careweave.measures.needs.tables`), never the raw data, and
shows them only through :mod:`careweave.measures.needs.output` (disclosure
control first, every derived figure from the shown counts). Kept per warehouse
version like every commissioner answer (:func:`careweave.web.intelligence.cached`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from careweave.measures.needs import tables
from careweave.measures.needs.output import safe_levels, safe_prevalence

LEVEL_NAMES = {
    4: "Level 4: case management",
    3: "Level 3: high-risk management",
    2: "Level 2: population management",
    1: "Level 1: prevention",
    0: "Not scored",
}


@dataclass(frozen=True)
class Run:
    computed_at: dt.datetime
    as_of: dt.date
    reference_file: str
    reference_source: str
    reference_year: str
    engine: str


def _has(con: Any, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def latest_run(con: Any) -> Run | None:
    """The latest ``careweave needs`` run, None when there has been none."""
    if con is None or not _has(con, tables.RUNS) or not _has(con, tables.PREVALENCE):
        return None
    row = con.execute(
        f"SELECT computed_at, as_of, reference_file, reference_source, reference_year, engine "
        f"FROM {tables.RUNS} ORDER BY computed_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return Run(pd.Timestamp(row[0]).to_pydatetime(), row[1], *(str(x) for x in row[2:]))


def units(con: Any) -> dict[str, list[str]]:
    """The localities and practices assessed (codes)."""
    rows = con.execute(
        f"SELECT DISTINCT group_by, group_value FROM {tables.PREVALENCE} "
        "WHERE group_by IN ('locality', 'practice') ORDER BY 1, 2"
    ).fetchall()
    out: dict[str, list[str]] = {"locality": [], "practice": []}
    for by, value in rows:
        out[str(by)].append(str(value))
    return out


def area_registers(con: Any, by: str, value: str) -> list[dict[str, Any]]:
    """Every register of one area (``all``/``all``, a locality or a practice), as shown,
    largest expected gap first (registers without a reference last)."""
    frame = con.execute(
        f"SELECT * FROM {tables.PREVALENCE} WHERE group_by = ? AND group_value = ?", [by, value]
    ).df()
    rows = safe_prevalence(frame)
    return sorted(
        rows,
        key=lambda r: (
            r["expected"] is None,
            -(r["gap"] if r["gap"] is not None else -1e18),
            r["register"],
        ),
    )


def register_units(con: Any, register: str, by: str) -> list[dict[str, Any]]:
    """One register across every locality or practice, as shown, lowest ratio first (the
    likeliest under-diagnosis), units whose figures are hidden last."""
    frame = con.execute(
        f"SELECT * FROM {tables.PREVALENCE} WHERE register = ? AND group_by = ?", [register, by]
    ).df()
    rows = safe_prevalence(frame)
    return sorted(
        rows,
        key=lambda r: (
            r["ratio"] is None,
            r["ratio"] if r["ratio"] is not None else 0.0,
            r["group_value"],
        ),
    )


def registers(con: Any) -> list[tuple[str, str, bool]]:
    """(register, label, has a reference) for every register assessed."""
    rows = con.execute(
        f"SELECT register, any_value(label), bool_or(expected IS NOT NULL) FROM {tables.PREVALENCE} "
        "WHERE group_by = 'all' GROUP BY 1 ORDER BY 2"
    ).fetchall()
    return [(str(r), str(lab), bool(has)) for r, lab, has in rows]


@dataclass(frozen=True)
class Levels:
    start: dt.date
    end: dt.date
    items: dict[int, dict[str, Any]]  # level -> item -> shown figure


def levels(con: Any) -> Levels | None:
    if not _has(con, tables.LEVELS):
        return None
    frame = con.execute(f"SELECT * FROM {tables.LEVELS}").df()
    if frame.empty:
        return None
    start = pd.Timestamp(frame["period_start"].iloc[0]).date()
    end = pd.Timestamp(frame["period_end"].iloc[0]).date()
    return Levels(start, end, safe_levels(frame))
