"""The finance page's figures: spend by setting and funder (the persisted
``population_measures`` rows of the spend KPIs, written by ``careweave finance spend``
or ``careweave measures``) and capitated budgets (``capitation_budgets`` and
``capitation_model_card``, written by ``careweave finance capitation``).

Nothing here computes spend: it reads what the analytics wrote, by the table names they
declare, and shows it through the one disclosure rule (``safe_frame`` for measures,
``careweave.finance.report`` for budgets)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from careweave.finance.report import card_rows, shown_budgets
from careweave.web.intelligence import has_measures, latest_rolling

SETTINGS = ("acute", "community", "primary_care", "prescribing", "mental_health", "social_care")
FUNDERS = ("nhs", "local_authority", "pooled")
LABELS = {
    "all": "All activity",
    "acute": "Acute hospital",
    "community": "Community health",
    "primary_care": "Primary care",
    "prescribing": "Prescribing",
    "mental_health": "Mental health",
    "social_care": "Social care",
    "nhs": "NHS",
    "local_authority": "Local authority",
    "pooled": "Pooled budget",
}
TOTAL = "spend_per_head"
#: Dimensions the page groups spend by (as ``careweave finance spend`` writes them).
BY = ("segment", "ccm_level", "locality", "practice")


def money(v: float | None) -> str:
    """Whole pounds: −£1,234 for a negative amount, – for none."""
    if v is None:
        return "–"
    return f"−£{-v:,.0f}" if round(v) < 0 else f"£{v:,.0f}"


def measure(category: str) -> str:
    return TOTAL if category == "all" else f"{TOTAL}_{category}"


@dataclass(frozen=True)
class SpendRow:
    category: str
    label: str
    total: float | None
    per_head: float | None
    share: float | None  # of all spend


@dataclass(frozen=True)
class Spend:
    start: dt.date
    end: dt.date
    total: SpendRow
    settings: list[SpendRow]
    funders: list[SpendRow]


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def board_spend(con: Any) -> Spend | None:
    """The whole board's latest rolling 12 months, by setting and funder (None: not run)."""
    if not has_measures(con):
        return None
    names = [measure(c) for c in ("all", *SETTINGS, *FUNDERS)]
    safe = latest_rolling(con, names, "all")
    if safe.empty or TOTAL not in set(safe["measure"]):
        return None
    by = {r.measure: r for r in safe.itertuples()}
    whole = _num(by[TOTAL].numerator)

    def row(c: str) -> SpendRow:
        r = by.get(measure(c))
        total = None if r is None else _num(r.numerator)
        share = total / whole if total is not None and whole else None
        return SpendRow(c, LABELS[c], total, None if r is None else _num(r.value), share)

    t = by[TOTAL]
    return Spend(
        pd.Timestamp(t.interval_start).date(),
        pd.Timestamp(t.interval_end).date(),
        row("all"),
        [row(c) for c in SETTINGS],
        [row(c) for c in FUNDERS],
    )


@dataclass(frozen=True)
class GroupSpend:
    value: str
    person_years: float | None
    total: float | None
    per_head: dict[str, float | None]  # category -> pounds per person-year


def spend_by(con: Any, by: str) -> list[GroupSpend]:
    """Each unit of ``by``'s latest rolling 12 months: total and per head, all activity and
    each funder (a unit resting on fewer than 8 person-years shows none)."""
    names = [measure(c) for c in ("all", *FUNDERS)]
    safe = latest_rolling(con, names, by)
    if safe.empty:
        return []
    out = []
    for value, g in safe.groupby("group_value", sort=True):
        rows = {r.measure: r for r in g.itertuples()}
        t = rows.get(TOTAL)
        hidden = t is None or bool(t.suppressed)
        out.append(
            GroupSpend(
                str(value),
                None if hidden or t is None else _num(t.denominator),
                None if hidden or t is None else _num(t.numerator),
                {
                    c: None if hidden or measure(c) not in rows else _num(rows[measure(c)].value)
                    for c in ("all", *FUNDERS)
                },
            )
        )
    return out


def _has(con: Any, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class Capitation:
    as_of: dt.date
    periods: dict[str, tuple[dt.date, dt.date]]
    validation: pd.DataFrame  # shown_budgets: actual against capitated, the validation year
    budget: pd.DataFrame  # shown_budgets: the year after as_of
    card: list[dict[str, Any]]  # card_rows
    tariff: str


def capitation(con: Any) -> Capitation | None:
    """The latest capitation run's budgets and model card, disclosure-controlled."""
    if not (_has(con, "capitation_budgets") and _has(con, "capitation_model_card")):
        return None
    last = con.execute("SELECT max(as_of) FROM capitation_budgets").fetchone()
    if not last or last[0] is None:
        return None
    as_of = last[0]
    rows = con.execute(
        "SELECT period, period_start, period_end, level, unit, people, capitated, actual, tariff "
        "FROM capitation_budgets WHERE as_of = ? ORDER BY period, level, unit",
        [as_of],
    ).df()
    card = con.execute(
        "SELECT group_by, group_value, people, r2, mae, actual_total, predicted_total "
        "FROM capitation_model_card WHERE as_of = ?",
        [as_of],
    ).df()
    periods = {
        str(p): (
            pd.Timestamp(g.period_start.iloc[0]).date(),
            pd.Timestamp(g.period_end.iloc[0]).date(),
        )
        for p, g in rows.groupby("period")
    }
    frames = {str(p): shown_budgets(g.reset_index(drop=True)) for p, g in rows.groupby("period")}
    empty = shown_budgets(rows.iloc[0:0])
    return Capitation(
        as_of,
        periods,
        frames.get("validation", empty),
        frames.get("budget", empty),
        card_rows(card),
        str(rows.tariff.iloc[0]) if len(rows) else "",
    )
