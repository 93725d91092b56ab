"""Running the needs assessment: counts on the engine, standardisation in numpy, tables written.

The assessment date is the last day of the warehouse's last whole month (the day
the rolling-12-month measures end on), so the recorded counts are exactly the
numerators of ``prevalence_<register>`` for that interval. Activity and spend at
each CCM level are the catalogue's own KPIs (:data:`LEVEL_KPIS`) computed by the
measures engine by ``ccm_level`` over the 12 months to that date: costing and
activity are not worked out again here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from careweave.dataset.registers import load_registers
from careweave.dataset.tariff import load_tariff
from careweave.errors import InputError
from careweave.measures.catalogue import select
from careweave.measures.compute import compute
from careweave.measures.context import Months
from careweave.measures.needs import tables
from careweave.measures.needs.counts import practice_areas, strata
from careweave.measures.needs.reference import Reference
from careweave.measures.needs.reference import load as load_reference

#: (catalogue KPI, kind, item, label): activity and spend at each CCM level, from the
#: KPI's numerator over the 12 months (bed days are days, spend is pounds).
LEVEL_KPIS = (
    ("emergency_admissions_per_1000", "activity", "emergency_admissions", "Emergency admissions"),
    ("emergency_bed_days_per_1000", "days", "emergency_bed_days", "Emergency bed days"),
    ("ae_attendances_per_1000", "activity", "ae_attendances", "A&E attendances"),
    (
        "outpatient_attendances_per_1000",
        "activity",
        "outpatient_attendances",
        "Outpatient attendances",
    ),
    (
        "primary_care_contacts_per_1000",
        "activity",
        "primary_care_contacts",
        "Primary care contacts",
    ),
    ("community_contacts_per_1000", "activity", "community_contacts", "Community health contacts"),
    (
        "mental_health_contacts_per_1000",
        "activity",
        "mental_health_contacts",
        "Mental health contacts",
    ),
    ("spend_per_head", "spend", "spend", "Health and social care spend (£)"),
)
LEVELS = (0, 1, 2, 3, 4)


def prevalence_frame(
    counts: pd.DataFrame, areas: pd.DataFrame | None, reference: Reference, as_of: dt.date
) -> pd.DataFrame:
    """Recorded and expected people per register for the board, each locality and practice."""
    regs = load_registers()
    c = counts.copy()
    units: list[tuple[str, pd.Series]] = [("all", pd.Series("all", index=c.index))]
    if areas is not None and len(areas):
        m = areas.drop_duplicates("practice").set_index("practice")
        units.append(("locality", c["practice"].map(m["locality"]).fillna("unknown").astype(str)))
    units.append(("practice", c["practice"].astype(str)))
    age = c["age"].to_numpy()
    rows: list[dict[str, Any]] = []
    for r in regs:
        in_den = age >= r.denominator_min_age
        of_age = age >= r.register_min_age
        rates = None
        if r.name in reference.registers:
            rates = (
                reference.rates(r.name, c["sex"].to_numpy(), age, c["quintile"].to_numpy()) * of_age
            )
        frame = pd.DataFrame(
            {
                "population": c["population"].to_numpy() * in_den,
                "recorded": c[f"reg_{r.name}"].to_numpy(),
                "expected": (c["population"].to_numpy() * rates) if rates is not None else 0.0,
            }
        )
        for by, key in units:
            g = frame.groupby(key.to_numpy()).sum()
            for value, row in g.iterrows():
                rows.append(
                    {
                        "as_of": as_of,
                        "register": r.name,
                        "label": r.label,
                        "group_by": by,
                        "group_value": str(value),
                        "population": int(row["population"]),
                        "recorded": int(row["recorded"]),
                        "expected": float(row["expected"]) if rates is not None else None,
                    }
                )
    return pd.DataFrame(rows)


def levels_frame(
    counts: pd.DataFrame, measures: pd.DataFrame, period: tuple[dt.date, dt.date]
) -> pd.DataFrame:
    """People, conditions, activity and spend at each CCM level."""
    regs = load_registers()
    by = counts.groupby("ccm_level").sum(numeric_only=True)
    rows: list[dict[str, Any]] = []

    def add(level: int, kind: str, item: str, label: str, value: float | None) -> None:
        rows.append(
            {
                "as_of": period[1],
                "period_start": period[0],
                "period_end": period[1],
                "ccm_level": level,
                "kind": kind,
                "item": item,
                "label": label,
                "value": value,
            }
        )

    last = measures[
        (measures["interval"] == "rolling_12_months")
        & (measures["group_by"] == "ccm_level")
        & (measures["interval_end"] == pd.Timestamp(period[1]))
    ]
    for level in LEVELS:
        have = level in by.index
        if level == 0 and not have:  # "not scored" only when someone is
            continue
        row: dict[str, Any] = by.loc[level].to_dict() if have else {}

        def n(column: str, row: dict[str, Any] = row) -> float:
            return float(row.get(column, 0.0))

        add(level, "people", "people", "People", n("population"))
        add(level, "people", "multimorbid", "People with two or more conditions", n("multimorbid"))
        for r in regs:
            add(level, "condition", r.name, r.label, n(f"reg_{r.name}"))
        mine = last[last["group_value"] == str(level)]
        years = None
        for kpi, kind, item, label in LEVEL_KPIS:
            hit = mine[mine["measure"] == kpi]
            value = float(hit["numerator"].iloc[0]) if len(hit) else None
            if years is None and len(hit):
                years = float(hit["denominator"].iloc[0])
            add(level, kind, item, label, value)
        add(level, "exposure", "person_years", "Person-years", years)
    return pd.DataFrame(rows)


def _period(span: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    months = Months.inside(*span)
    if months.n == 0:
        raise InputError(f"needs: the warehouse's span {span[0]} to {span[1]} holds no whole month")
    return months.start(max(0, months.n - 12)), months.last_day


def assess(
    engine: Any, span: tuple[dt.date, dt.date], reference: Reference, tariff: Any
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[dt.date, dt.date]]:
    """(prevalence rows, level rows, the 12 months) on an engine over the warehouse's tables."""
    period = _period(span)
    as_of = period[1]
    counts = engine.to_arrow(strata(engine, as_of)).to_pandas()
    areas = None
    if engine.has_table("organisations"):
        areas = engine.to_arrow(practice_areas(engine)).to_pandas()
    kpis = select([k for k, *_ in LEVEL_KPIS])
    measures = compute(
        engine, period[0], period[1], kpis, ("ccm_level",), tariff, intervals=("rolling_12_months",)
    ).results
    return (
        prevalence_frame(counts, areas, reference, as_of),
        levels_frame(counts, measures, period),
        period,
    )


def write(
    warehouse: Path,
    prevalence: pd.DataFrame,
    levels: pd.DataFrame,
    run: dict[str, Any],
) -> None:
    """Replace the needs tables' rows with this run's (one transaction) and log the run."""
    from careweave.warehouse import connect

    con = connect(warehouse)
    try:
        con.execute("BEGIN")
        for name, ddl, frame in (
            (tables.PREVALENCE, tables.PREVALENCE_DDL, prevalence),
            (tables.LEVELS, tables.LEVELS_DDL, levels),
        ):
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
            con.execute(f"DELETE FROM {name}")
            data = pa.Table.from_pandas(frame, preserve_index=False)
            con.register("_new_needs", data)
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _new_needs")
            con.unregister("_new_needs")
        con.execute(f"CREATE TABLE IF NOT EXISTS {tables.RUNS} ({tables.RUNS_DDL})")
        con.execute(
            f"INSERT INTO {tables.RUNS} VALUES (?, ?, ?, ?, ?, ?)",
            [
                run["computed_at"],
                run["as_of"],
                run["reference_file"],
                run["reference_source"],
                run["reference_year"],
                run["engine"],
            ],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def run(
    warehouse: Path,
    *,
    reference: Path | None = None,
    engine: str = "duckdb",
    tariff: Path | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Assess needs over the warehouse, write the needs tables, return the run's facts and
    frames (true figures: :mod:`careweave.measures.needs.output` makes them safe to show)."""
    from careweave.dataset.tables import BY_NAME
    from careweave.measures.results import EXTRA_TABLES
    from careweave.warehouse import warehouse_span
    from careweave.warehouse.engines import DuckDBEngine, SparkEngine

    warehouse = Path(warehouse)
    if engine not in ("duckdb", "spark"):
        raise InputError(f"--engine: unknown engine {engine!r} (choose from duckdb, spark)")
    ref = load_reference(reference)
    prices = load_tariff(tariff)
    if not warehouse.exists():
        raise InputError(f"{warehouse}: no such warehouse")
    source = DuckDBEngine.open(warehouse)
    try:
        span = warehouse_span(source.con.con)
        if span is None:
            raise InputError(f"{warehouse}: no _load_batches, so the span it covers is unknown")
        lo, hi = (d.date() if isinstance(d, dt.datetime) else d for d in span)
        if engine == "spark":
            names = [n for n in (*BY_NAME, *EXTRA_TABLES) if source.has_table(n)]
            tables_ = {n: source.con.table(n).to_pyarrow() for n in names}
    finally:
        source.close()
    eng: Any = DuckDBEngine.open(warehouse) if engine == "duckdb" else SparkEngine(tables_)
    try:
        prevalence, levels, period = assess(eng, (lo, hi), ref, prices)
    finally:
        eng.close()
    at = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    prevalence["computed_at"] = pd.Timestamp(at)
    levels["computed_at"] = pd.Timestamp(at)
    facts = {
        "computed_at": at,
        "as_of": period[1],
        "period_start": period[0],
        "reference_file": ref.path,
        "reference_source": ref.source,
        "reference_year": ref.year,
        "engine": engine,
    }
    write(warehouse, prevalence, levels, facts)
    return {**facts, "prevalence": prevalence, "levels": levels}


def registers_without_reference(reference: Reference) -> list[str]:
    return [r.name for r in load_registers() if r.name not in reference.registers]
