"""The shared record for the patient summary: active problems, medicines, allergies and
latest results from the warehouse, described in words (careweave.dataset.descriptions)
and results set against their normal ranges (``dataset/data/result_ranges.csv``).

Read-only queries on the warehouse connection the patient page already holds; a table the
warehouse lacks gives an empty section, not an error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from careweave.dataset.descriptions import label
from careweave.web import warehouse as wh

MEDICINES_DAYS = 180  # "current" medicines: issued in the last six months
LIMIT = 40


@dataclass(frozen=True)
class Problem:
    what: str
    since: dt.date


@dataclass(frozen=True)
class Medicine:
    what: str
    last_issued: dt.date
    issues: int
    current: bool  # issued in the last MEDICINES_DAYS


@dataclass(frozen=True)
class Allergy:
    what: str
    category: str
    criticality: str | None
    recorded: dt.date


@dataclass(frozen=True)
class Range:
    measure: str
    label: str
    unit: str
    low: float | None
    high: float | None

    def words(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g} {self.unit}"
        if self.high is not None:
            return f"up to {self.high:g} {self.unit}"
        if self.low is not None:
            return f"{self.low:g} {self.unit} or more"
        return ""

    def flag(self, value: float) -> str | None:
        """ "Low", "High", "Normal", or None when the measure has no range."""
        if self.low is None and self.high is None:
            return None
        if self.low is not None and value < self.low:
            return "Low"
        if self.high is not None and value > self.high:
            return "High"
        return "Normal"


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    on: dt.date
    range: Range | None

    @property
    def flag(self) -> str | None:
        return self.range.flag(self.value) if self.range else None


@cache
def ranges() -> dict[str, Range]:
    text = (
        resources.files("careweave.dataset")
        .joinpath("data/result_ranges.csv")
        .read_text(encoding="utf-8")
    )
    body = "".join(ln for ln in text.splitlines(True) if ln[:1] != "#")
    out = {}
    for r in csv.DictReader(io.StringIO(body)):
        out[r["measure"]] = Range(
            r["measure"],
            r["label"],
            r["unit"],
            float(r["low"]) if r["low"] else None,
            float(r["high"]) if r["high"] else None,
        )
    return out


@dataclass(frozen=True)
class SharedRecord:
    problems: list[Problem]
    medicines: list[Medicine]
    allergies: list[Allergy] | None  # None: the warehouse has no allergies table
    results: list[Result]


def _rows(con: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """DuckDB refuses parameters a query does not use: pass only those it names."""
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return list(con.execute(sql, used).fetchall())


def shared_record(con: Any, nhs_number: str, today: dt.date) -> SharedRecord:
    have = wh.tables(con)
    p: dict[str, Any] = {"nhs": nhs_number, "today": today}
    problems: list[Problem] = []
    if "primary_care_events" in have:
        for system, code, term, since in _rows(
            con,
            "SELECT code_system, code, max(term), min(event_date) FROM primary_care_events "
            "WHERE nhs_number = $nhs AND event_date <= $today "
            "AND (resolved_date IS NULL OR resolved_date > $today) "
            "GROUP BY 1, 2 ORDER BY 4 DESC LIMIT " + str(LIMIT),
            p,
        ):
            problems.append(Problem(label(system, code, term), since))
    medicines: list[Medicine] = []
    if "medications" in have:
        since = today - dt.timedelta(days=MEDICINES_DAYS)
        for system, code, term, last, n in _rows(
            con,
            "SELECT code_system, code, max(term), max(issue_date), count(*) FROM medications "
            "WHERE nhs_number = $nhs AND issue_date <= $today "
            "GROUP BY 1, 2 ORDER BY 4 DESC, 3 LIMIT " + str(LIMIT),
            p,
        ):
            medicines.append(Medicine(label(system, code, term), last, int(n), last >= since))
    allergies: list[Allergy] | None = None
    if "allergies" in have:
        allergies = [
            Allergy(label(system, code, term), category, criticality, recorded)
            for system, code, term, category, criticality, recorded in _rows(
                con,
                "SELECT code_system, code, term, category, criticality, recorded_date "
                "FROM allergies WHERE nhs_number = $nhs AND status = 'active' "
                "ORDER BY criticality = 'high' DESC, recorded_date DESC LIMIT " + str(LIMIT),
                p,
            )
        ]
    results: list[Result] = []
    if "observations" in have:
        known = ranges()
        for measure, value, unit, on, system, code, term in _rows(
            con,
            "SELECT measure, value, unit, obs_date, code_system, code, term FROM observations "
            "WHERE nhs_number = $nhs AND measure IS NOT NULL AND value IS NOT NULL "
            "AND obs_date <= $today "
            "QUALIFY row_number() OVER (PARTITION BY measure ORDER BY obs_date DESC) = 1 "
            "ORDER BY measure",
            p,
        ):
            rng = known.get(measure)
            name = rng.label if rng else label(system, code, term)
            results.append(Result(name, float(value), rng.unit if rng else (unit or ""), on, rng))
    return SharedRecord(problems, medicines, allergies, results)
