"""Read-only warehouse queries for the workbench: a person's linked activity and risk history.

The operational store holds only the people index and live events, so the
patient page reads the person's history across primary care, hospital,
community, mental health, social care and telehealth from the DuckDB
warehouse (the path comes from ``install(app, warehouse=...)``, from the
settings' ``warehouse``). Tables the warehouse lacks are skipped. Commissioner
pages read aggregates from here.

The server reads through one :class:`Reader` per warehouse file: a single
read-only DuckDB database shared by every request (each gets its own cursor),
opened on first use and closed once no request has used it for
``IDLE_SECONDS``, so a ``careweave load`` or ``stratify`` (which needs the file
to itself) can run between bursts of use. Opening the file costs about 100 ms
and empties DuckDB's cache, which the per-request connection it replaces paid
on every patient page. What depends only on the warehouse's contents (its
tables, movement between levels, spend by segment) is kept per file version
(inode, size, modification time) and recomputed when the file changes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from careweave.dataset.descriptions import label
from careweave.web.cache import TtlCache

T = TypeVar("T")
IDLE_SECONDS = 2.0

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
    """A read-only DuckDB connection of its own, or None when no warehouse is configured
    or present (for one-off readers; the server's pages use :class:`Reader`)."""
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


def version(path: Path) -> tuple[int, ...] | None:
    """The file's identity and state (inode, size, mtime, and its WAL's), None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        wal = os.stat(f"{path}.wal")
        tail: tuple[int, ...] = (wal.st_size, wal.st_mtime_ns)
    except OSError:
        tail = ()
    return (st.st_ino, st.st_size, st.st_mtime_ns, *tail)


class Cursor:
    """A request's cursor on the shared warehouse database, with the version's memo."""

    def __init__(self, cur: Any, memo: Callable[[Any, Callable[[], Any]], Any]) -> None:
        self._cur = cur
        self._memo = memo

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._cur.execute(sql) if params is None else self._cur.execute(sql, params)

    def memo(self, key: Any, make: Callable[[], T]) -> T:
        """``make()`` computed once per warehouse version and ``key``."""
        result: T = self._memo(key, make)
        return result


def memo(con: Any, key: Any, make: Callable[[], T]) -> T:
    """``make()`` kept for the warehouse version when ``con`` is a :class:`Cursor`;
    computed afresh on a plain connection."""
    keep = getattr(con, "memo", None)
    return keep(key, make) if keep is not None else make()


class Reader:
    """One read-only DuckDB database per warehouse file, shared by the server's threads.

    ``cursor()`` yields a :class:`Cursor` (or None when the file is absent or not a
    warehouse). The database is opened on first use, reopened when the file has
    changed and nobody is reading, and closed ``idle`` seconds after the last reader
    has finished (see the module docstring)."""

    def __init__(self, path: Path, idle: float = IDLE_SECONDS) -> None:
        self.path = path
        self.idle = idle
        self._lock = threading.Lock()
        self._con: Any = None
        self._version: tuple[int, ...] | None = None
        self._readers = 0
        self._timer: threading.Timer | None = None
        self._memo = TtlCache(math.inf)

    @contextmanager
    def cursor(self) -> Iterator[Cursor | None]:
        con = self._acquire()
        if con is None:
            yield None
            return
        try:
            cur = con.cursor()
            try:
                yield Cursor(cur, self._memo_get)
            finally:
                cur.close()
        finally:
            self._release()

    def _memo_get(self, key: Any, make: Callable[[], Any]) -> Any:
        return self._memo.get((self._version, key), make)

    def _acquire(self) -> Any:
        import duckdb

        from careweave import duck

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            now = version(self.path)
            if self._con is not None and now != self._version and self._readers == 0:
                self._close()
            if self._con is None:
                if now is None:
                    return None
                try:
                    # the default configuration: DuckDB refuses a second connection to the
                    # file in this process with another one (connect() and the pages' own
                    # one-off readers open it so while this is open)
                    self._con = duck.connect(self.path, read_only=True)
                except duckdb.Error:
                    return None
                if now != self._version:
                    self._memo.clear()
                self._version = now
            self._readers += 1
            return self._con

    def _release(self) -> None:
        with self._lock:
            self._readers -= 1
            if self._readers == 0 and self._con is not None:
                self._timer = threading.Timer(self.idle, self._close_if_idle)
                self._timer.daemon = True
                self._timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._readers == 0:
                self._close()

    def _close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def close(self) -> None:
        """Close the database now (server shutdown); a later ``cursor()`` reopens it."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._readers == 0:
                self._close()


def tables(con: Any) -> set[str]:
    return memo(
        con,
        "tables",
        lambda: {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        },
    )


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
    """The two latest score dates, newest first (kept per warehouse version)."""
    return memo(con, "latest_dates", lambda: _latest_dates(con))


def _latest_dates(con: Any) -> list[dt.date]:
    if "risk_scores" not in tables(con):
        return []
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT as_of FROM risk_scores ORDER BY as_of DESC LIMIT 2"
        ).fetchall()
    ]


def movement(con: Any) -> tuple[dt.date, dt.date, dict[tuple[int, int], int]] | None:
    """Level transitions between the two latest score dates, or None with fewer than two
    (kept per warehouse version)."""
    return memo(con, "movement", lambda: _movement(con))


def _movement(con: Any) -> tuple[dt.date, dt.date, dict[tuple[int, int], int]] | None:
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
    Kept per warehouse version.
    """
    return memo(con, "segment_spend", lambda: _segment_spend(con))


def _segment_spend(con: Any) -> SegmentSpend | None:
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
