"""Read-only warehouse queries for the workbench: a person's linked activity and risk history.

The operational store holds only the people index and live events, so the
patient page reads the person's history across primary care, hospital,
community, mental health, social care and telehealth from the DuckDB
warehouse, opened read-only per request (the warehouse path comes from
``install(app, warehouse=...)``, from the settings' ``warehouse``). Tables the
warehouse lacks are skipped. Commissioner pages read aggregates from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careweave.dataset.descriptions import label

# Warehouse telehealth measure names -> the care rules' measure names.
MEASURES = {
    "blood_glucose": "glucose",
    "systolic_bp": "systolic_bp",
    "weight": "weight",
    "spo2": "spo2",
}


@dataclass(frozen=True)
class Item:
    """One timeline entry."""

    date: dt.date
    setting: str
    what: str


# (table, date column, setting, SQL for the description, SQL for an ICD-10 code or NULL).
# The code is described in words by careweave.dataset.descriptions and put where the
# description says {dx}; dates inside descriptions are UK style (3 Mar 2026).
ACTIVITY = (
    (
        "hospital_spells",
        "admission_date",
        "Hospital",
        "upper(admission_method[1]) || admission_method[2:] || ' admission' || "
        "CASE WHEN primary_diagnosis IS NULL THEN '' ELSE ': {dx}' END || "
        "coalesce(', discharged ' || strftime(discharge_date, '%-d %b %Y'), '') || "
        "coalesce(' to ' || replace(discharge_destination, '_', ' '), '')",
        "primary_diagnosis",
    ),
    ("ae_attendances", "attendance_date", "Hospital", "'A&E attendance, ' || disposal", "NULL"),
    (
        "outpatient_appointments",
        "appointment_date",
        "Hospital",
        "'Outpatient ' || coalesce(specialty || ' ', '') || replace(outcome, '_', ' ')",
        "NULL",
    ),
    (
        "primary_care_contacts",
        "contact_date",
        "Primary care",
        "'Seen by ' || replace(staff_role, '_', ' ') || ' (' || replace(mode, '_', ' ') || ')'",
        "NULL",
    ),
    (
        "community_contacts",
        "contact_date",
        "Community",
        "upper(replace(service, '_', ' ')[1]) || (replace(service, '_', ' '))[2:] || ' (' || replace(mode, '_', ' ') || ')'",
        "NULL",
    ),
    (
        "mental_health_contacts",
        "contact_date",
        "Mental health",
        "upper(replace(service, '_', ' ')[1]) || (replace(service, '_', ' '))[2:] || ' (' || replace(mode, '_', ' ') || ')'",
        "NULL",
    ),
    (
        "social_care_assessments",
        "assessment_date",
        "Social care",
        "upper(replace(assessment_type, '_', ' ')[1]) || (replace(assessment_type, '_', ' '))[2:] || ' assessment: ' || "
        "replace(outcome, '_', ' ')",
        "NULL",
    ),
    (
        "social_care_services",
        "start_date",
        "Social care",
        "upper(replace(service_type, '_', ' ')[1]) || (replace(service_type, '_', ' '))[2:] || ' started' || "
        "coalesce(' (' || weekly_hours || ' h/week)', '')",
        "NULL",
    ),
    (
        "care_placements",
        "start_date",
        "Social care",
        "'Care home placement (' || replace(placement_type, '_', ' ') || ')'",
        "NULL",
    ),
)


@contextmanager
def connect(path: Path | None) -> Iterator[Any]:
    """A read-only DuckDB connection, or None when no warehouse is configured or present."""
    if path is None or not path.is_file():
        yield None
        return
    import duckdb

    from careweave import duck

    try:
        con = duck.connect(path, read_only=True)
    except duckdb.Error:
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def tables(con: Any) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def timeline(con: Any, nhs_number: str, since: dt.date) -> list[Item]:
    have = tables(con)
    parts = []
    for table, date_col, setting, what, code in ACTIVITY:
        if table in have:
            parts.append(
                f"SELECT {date_col}::DATE AS d, '{setting}' AS setting, {what} AS what, "
                f"{code}::VARCHAR AS code "
                f"FROM {table} WHERE nhs_number = $nhs AND {date_col} >= $since"
            )
    if not parts:
        return []
    sql = " UNION ALL ".join(parts) + " ORDER BY d DESC LIMIT 500"
    rows = con.execute(sql, {"nhs": nhs_number, "since": since}).fetchall()
    return [
        Item(d, s, (w or "").replace("{dx}", label("icd10", c)) if c else (w or ""))
        for d, s, w, c in rows
    ]


def telehealth(
    con: Any, nhs_number: str, since: dt.datetime
) -> dict[str, list[tuple[dt.datetime, float]]]:
    if "telehealth_readings" not in tables(con):
        return {}
    rows = con.execute(
        "SELECT measure, recorded_at, value FROM telehealth_readings "
        "WHERE nhs_number = $nhs AND recorded_at >= $since ORDER BY recorded_at",
        {"nhs": nhs_number, "since": since.replace(tzinfo=None)},
    ).fetchall()
    out: dict[str, list[tuple[dt.datetime, float]]] = {}
    for measure, at, value in rows:
        name = MEASURES.get(measure)
        if name is None or value is None:
            continue
        t = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        out.setdefault(name, []).append((t, float(value)))
    return out


def risk_history(con: Any, nhs_number: str) -> list[dict[str, Any]]:
    if "risk_scores" not in tables(con):
        return []
    cur = con.execute(
        "SELECT as_of, probability, percentile, ccm_level, segment, explanation "
        "FROM risk_scores WHERE nhs_number = $nhs ORDER BY as_of",
        {"nhs": nhs_number},
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def latest_dates(con: Any) -> list[dt.date]:
    if "risk_scores" not in tables(con):
        return []
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT as_of FROM risk_scores ORDER BY as_of DESC LIMIT 2"
        ).fetchall()
    ]


def movement(con: Any) -> tuple[dt.date, dt.date, dict[tuple[int, int], int]] | None:
    """Level transitions between the two latest score dates, or None with fewer than two."""
    dates = latest_dates(con)
    if len(dates) < 2:
        return None
    after, before = dates
    rows = con.execute(
        "SELECT a.ccm_level, b.ccm_level, count(*) FROM risk_scores a JOIN risk_scores b "
        "USING (nhs_number) WHERE a.as_of = $before AND b.as_of = $after GROUP BY 1, 2",
        {"before": before, "after": after},
    ).fetchall()
    return before, after, {(int(a), int(b)): int(n) for a, b, n in rows}


@dataclass(frozen=True)
class SegmentSpend:
    """Spend by segment at the latest score date, as ``careweave stratify`` priced it."""

    as_of: dt.date
    tariff: str  # careweave.dataset.tariff.identity of the tariff used
    by_segment: dict[str, float]


def segment_spend(con: Any) -> SegmentSpend | None:
    """Spend in the 12 months to the latest score date by segment, read from ``risk_scores``.

    ``careweave stratify`` keeps each person's spend and the tariff's identity with the
    scores, so nothing is recomputed here (and the tariff is the one stratify used).
    None when there are no scores, or the latest were written before spend was kept.
    """
    dates = latest_dates(con)
    if not dates:
        return None
    columns = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'risk_scores'"
        ).fetchall()
    }
    if not {"spend_12m", "tariff"} <= columns:
        return None
    rows = con.execute(
        "SELECT segment, sum(spend_12m), count(spend_12m), min(tariff) FROM risk_scores "
        "WHERE as_of = $d GROUP BY 1",
        {"d": dates[0]},
    ).fetchall()
    if not rows or all(n == 0 for _, _, n, _ in rows):
        return None
    tariffs = {t for *_, t in rows}
    return SegmentSpend(
        as_of=dates[0],
        tariff=", ".join(sorted(str(t) for t in tariffs)),
        by_segment={str(seg): float(v or 0.0) for seg, v, _, _ in rows},
    )
