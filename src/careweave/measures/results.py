"""``population_measures``: the long results table in the warehouse, and running the measures.

Each run also appends a row to ``population_measures_runs`` (when, engine, measures, rows).

One row per measure x interval x group value:

| column | meaning |
|---|---|
| measure | catalogue name |
| interval | ``month`` or ``rolling_12_months`` |
| interval_start, interval_end | first and last day (inclusive) |
| group_by, group_value | dimension (``all`` for the whole board) and its value |
| numerator, denominator | the figures the value is worked out from (true figures) |
| value | the measure (fractions for proportions; per ``per`` for rates) |
| ci_lower, ci_upper | 95% interval (Wilson; Byar / exact Poisson; Dobson for DSRs) |
| unit | the catalogue's unit |
| engine | ``duckdb`` or ``spark`` |
| definition_version | catalogue version + hash of the KPI's entry |
| computed_at | when (UTC) |

The table holds true figures, like the rest of the warehouse (which holds
person-level data); every output that shows them applies
:mod:`careweave.measures.disclosure`. A run replaces the rows of the measures
and dimensions it computed, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from careweave.dataset.tables import BY_NAME
from careweave.dataset.tariff import load_funding, load_tariff
from careweave.errors import InputError
from careweave.measures.catalogue import Kpi

if TYPE_CHECKING:
    from careweave.measures.compute import Computed

# The engine (careweave.measures.compute, on Ibis) is imported by run(): the pages and the
# commissioner's pack read this table (TABLE) without importing Ibis.

TABLE = "population_measures"
DDL = """
    measure VARCHAR NOT NULL,
    interval VARCHAR NOT NULL,
    interval_start DATE NOT NULL,
    interval_end DATE NOT NULL,
    group_by VARCHAR NOT NULL,
    group_value VARCHAR NOT NULL,
    numerator DOUBLE,
    denominator DOUBLE,
    value DOUBLE,
    ci_lower DOUBLE,
    ci_upper DOUBLE,
    unit VARCHAR NOT NULL,
    engine VARCHAR NOT NULL,
    definition_version VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL
"""
#: One row per run that wrote ``population_measures`` (a run replaces earlier rows, so the
#: table alone cannot say how often the measures refresh): when, on which engine, how many
#: measures and rows. Read by the maturity evidence (performance transparency).
RUNS_TABLE = "population_measures_runs"
RUNS_DDL = """
    computed_at TIMESTAMP NOT NULL,
    engine VARCHAR NOT NULL,
    measures INTEGER NOT NULL,
    rows_written BIGINT NOT NULL
"""
#: Tables the measures may read, beyond the canonical ones.
EXTRA_TABLES = ("risk_scores",)


def table_frame(
    computed: Computed, kpis: dict[str, Kpi], engine: str, at: dt.datetime
) -> pd.DataFrame:
    r = computed.results.copy()
    r["unit"] = r["measure"].map({m: k.unit for m, k in kpis.items()})
    r["engine"] = engine
    r["definition_version"] = r["measure"].map({m: k.version for m, k in kpis.items()})
    r["computed_at"] = pd.Timestamp(at.replace(tzinfo=None))
    return r


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The results as Arrow, text columns dictionary-encoded: a results table repeats a few
    dozen names over a million rows, and DuckDB inserts dictionary-encoded text about a third
    faster than one string per row (at 1,000,000 people, 1.4 million rows: 2.5 s against
    4 s)."""
    cols: dict[str, pa.Array] = {}
    for name in frame.columns:
        col = frame[name]
        # text only: an object column of dates (interval_start from a caller's frame) is
        # converted as it is
        if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) == "string":
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            index = pa.array(codes.astype(np.int32), mask=codes < 0)
            cols[name] = pa.DictionaryArray.from_arrays(index, pa.array(uniques, pa.string()))
        else:
            cols[name] = pa.Array.from_pandas(col)
    return pa.table(cols)


def write(warehouse: Path, frame: pd.DataFrame, measures: list[str], dims: tuple[str, ...]) -> None:
    """Replace the rows of ``measures`` x ``dims`` in ``population_measures`` (one transaction)."""
    from careweave.warehouse import connect

    con = connect(warehouse)
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({DDL})")
        if measures:
            con.execute(
                f"DELETE FROM {TABLE} WHERE list_contains(?, measure) AND list_contains(?, group_by)",
                [measures, list(dims)],
            )
        con.register("_new_measures", _arrow(frame))
        cols = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM _new_measures")
        con.unregister("_new_measures")
        if len(frame):
            con.execute(f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} ({RUNS_DDL})")
            con.execute(
                f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?)",
                [
                    pd.Timestamp(frame["computed_at"].max()).to_pydatetime(),
                    str(frame["engine"].iloc[0]),
                    len(measures),
                    len(frame),
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
    kpis: list[Kpi],
    dims: tuple[str, ...],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    engine: str = "duckdb",
    tariff: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Compute ``kpis`` over the warehouse (its span, or [start, end]), write
    ``population_measures`` and return (summary, results table)."""
    from careweave.measures.compute import compute
    from careweave.warehouse import warehouse_span
    from careweave.warehouse.engines import DuckDBEngine, SparkEngine

    warehouse = Path(warehouse)
    if engine not in ("duckdb", "spark"):
        raise InputError(f"--engine: unknown engine {engine!r} (choose from duckdb, spark)")
    prices = load_tariff(tariff)
    funding = load_funding(tariff)
    source = DuckDBEngine.open(warehouse)
    try:
        span = warehouse_span(source.con.con)
        if span is None:
            raise InputError(f"{warehouse}: no _load_batches, so the span it covers is unknown")
        span_start, span_end = (d.date() if isinstance(d, dt.datetime) else d for d in span)
        people = int(
            source.to_arrow(source.table("people").count().as_table()).column(0)[0].as_py()
        )
        names = [n for n in (*BY_NAME, *EXTRA_TABLES) if source.has_table(n)]
        if engine == "spark":
            tables = {n: source.con.table(n).to_pyarrow() for n in names}
    finally:
        source.close()
    lo, hi = start or span_start, end or span_end
    if lo > hi:
        raise InputError(f"--from {lo} is after --to {hi}")
    eng: Any = DuckDBEngine.open(warehouse) if engine == "duckdb" else SparkEngine(tables)
    try:
        computed = compute(eng, lo, hi, kpis, dims, prices, funding=funding)
    finally:
        eng.close()
    by_name = {k.name: k for k in kpis}
    at = now or dt.datetime.now(dt.UTC)
    frame = table_frame(computed, by_name, engine, at)
    done = [k.name for k in kpis if k.name not in computed.no_data]
    write(warehouse, frame, done, tuple(dict.fromkeys(("all", *dims))))
    months = computed.months
    width = min(12, months.n)
    summary: dict[str, Any] = {
        "engine": engine,
        "people": people,
        "span": {"start": lo.isoformat(), "end": hi.isoformat(), "months": months.n},
        "summary_interval": {
            "start": months.start(months.n - width).isoformat(),
            "end": months.last_day.isoformat(),
        },
        "rows_written": len(frame),
        "kpis": {},
        "timings": computed.timings,
        "kpi_seconds": computed.kpi_seconds,
    }
    for k in kpis:
        s = computed.summary.get(k.name)
        summary["kpis"][k.name] = {
            "title": k.title,
            "value": None if s is None else s["value"],
            "numerator": None if s is None else s["numerator"],
            "denominator": None if s is None else s["denominator"],
            "ci_lower": None if s is None else s["ci_lower"],
            "ci_upper": None if s is None else s["ci_upper"],
            "unit": k.unit,
            "no_data": computed.no_data.get(k.name),
        }
    return summary, frame


def disclosed(summary: dict[str, Any], kpis: list[Kpi]) -> dict[str, Any]:
    """The summary with disclosure control applied to every KPI's figures (for output)."""
    from careweave.measures.disclosure import safe_frame

    by_name = {k.name: k for k in kpis}
    rows = [
        {
            "measure": name,
            **{c: v.get(c) for c in ("numerator", "denominator", "value", "ci_lower", "ci_upper")},
        }
        for name, v in summary["kpis"].items()
    ]
    frame = pd.DataFrame(rows).astype(
        {c: "float64" for c in ("numerator", "denominator", "value", "ci_lower", "ci_upper")}
    )
    safe = safe_frame(frame, by_name)
    out = dict(summary)
    out["kpis"] = {}
    for row in safe.to_dict("records"):
        name = row["measure"]
        item = dict(summary["kpis"][name])
        for c in ("numerator", "denominator", "value", "ci_lower", "ci_upper"):
            v = row[c]
            item[c] = None if pd.isna(v) else float(v)
        item["suppressed"] = bool(row["suppressed"])
        out["kpis"][name] = item
    return out


def disclosed_frame(frame: pd.DataFrame, kpis: list[Kpi]) -> pd.DataFrame:
    """The results table with disclosure control applied (for CSV and other outputs)."""
    from careweave.measures.disclosure import safe_frame

    return safe_frame(frame, {k.name: k for k in kpis})
