"""The wide lane query gives the same results table as every source computed on its own.

The engine reads each dated activity table once for every events source over it (the
spend sources and the counts of contacts, appointments, attendances and admissions:
``careweave.measures.sources.lanes``), carrying one value column per source. Computing
each of those sources from its own rows (``compute(..., wide=False)``, the engine as it
was before the lanes) must give exactly the same table: the same rows (so the same group
values present for every measure) and the same numbers, bit for bit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.tariff import default_funding, default_tariff
from careweave.ingest import load_dataset
from careweave.measures.catalogue import select
from careweave.measures.compute import compute
from careweave.measures.context import DIMENSIONS
from careweave.measures.sources import SOURCES
from careweave.synth import generate
from careweave.warehouse.engines import DuckDBEngine
from measures.specs import _score

START, END = dt.date(2022, 1, 1), dt.date(2023, 12, 31)
KEYS = ["measure", "interval", "interval_start", "group_by", "group_value"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("wide")
    generate(600, 11, START, END, d / "data")
    wh = d / "w.duckdb"
    load_dataset(d / "data", wh)
    import duckdb

    con = duckdb.connect(str(wh))
    try:
        nhs = [r[0] for r in con.execute("SELECT nhs_number FROM people ORDER BY 1").fetchall()]
        rng = np.random.default_rng(5)
        scores = [
            _score(n, run, int(level))
            for run in (dt.date(2022, 6, 30), dt.date(2023, 6, 30))
            for n, level in zip(nhs, rng.integers(1, 5, len(nhs)), strict=True)
        ]
        con.register("_s", pa.Table.from_pylist(scores, schema=RISK_SCORES.arrow_schema))
        con.execute("CREATE TABLE risk_scores AS SELECT * FROM _s")
    finally:
        con.close()
    return wh


class _OneAtATime:
    """A DuckDB engine without ``cursors`` and ``cache``: every query on the one connection,
    one after another, the people cached as Ibis temporary tables (as on Spark)."""

    def __init__(self, engine: DuckDBEngine) -> None:
        self._engine = engine
        self.name = engine.name

    def table(self, name: str) -> object:
        return self._engine.table(name)

    def has_table(self, name: str) -> bool:
        return self._engine.has_table(name)

    def to_arrow(self, expr: object) -> pa.Table:
        return self._engine.to_arrow(expr)

    @property
    def con(self) -> object:
        return self._engine.con

    def close(self) -> None:
        self._engine.close()


def _results(warehouse: Path, *, wide: bool, side_by_side: bool = True) -> pd.DataFrame:
    engine: object = DuckDBEngine.open(warehouse)
    if not side_by_side:
        engine = _OneAtATime(engine)  # type: ignore[arg-type]
    try:
        out = compute(
            engine,
            START,
            END,
            select(None),
            DIMENSIONS,
            default_tariff(),
            funding=default_funding(),
            wide=wide,
        )
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert not out.no_data, out.no_data
    return out.results.sort_values(KEYS).reset_index(drop=True)


def test_wide_lanes_give_the_same_results_table(warehouse: Path) -> None:
    wide = _results(warehouse, wide=True)
    narrow = _results(warehouse, wide=False)
    pd.testing.assert_frame_equal(wide, narrow, check_exact=True)
    # the fixture exercises the lanes: activity counts, spend, masked and unmasked sources
    whole = wide[(wide.group_by == "all") & (wide.interval == "rolling_12_months")]
    for kpi in (
        "primary_care_contacts_per_1000",
        "outpatient_dna_rate",
        "ae_conversion_rate",
        "emergency_admissions_per_1000",
        "acsc_emergency_admissions_per_1000",
        "spend_per_head",
        "spend_per_head_prescribing",
    ):
        assert (whole[whole.measure == kpi].numerator > 0).all(), kpi


def test_queries_side_by_side_give_the_same_results_table(warehouse: Path) -> None:
    """On DuckDB the queries run two at a time, each on its own connection, the people
    materialised where every connection sees them (``DuckDBEngine.cursors`` and ``cache``):
    the same table, bit for bit, as every query on one connection one after another."""
    together = _results(warehouse, wide=True)
    alone = _results(warehouse, wide=True, side_by_side=False)
    pd.testing.assert_frame_equal(together, alone, check_exact=True)


def test_lane_sources_cover_the_big_activity_tables() -> None:
    """Every events source over the contacts, appointment, attendance and medication tables
    reads a lane (so none of them joins its table to the people on its own)."""
    lanes = {
        "primary_care_contacts",
        "community_contacts",
        "mental_health_contacts",
        "outpatient_appointments",
        "ae_attendances",
    }
    by_table = {n: s for n, s in SOURCES.items() if s.kind == "events" and set(s.requires) & lanes}
    assert by_table and all(s.picks is not None for s in by_table.values()), [
        n for n, s in by_table.items() if s.picks is None
    ]
    assert SOURCES["spend_prescribing_nhs_pence"].picks is not None


def test_each_lane_is_a_query_of_its_own() -> None:
    """Every lane is one query; a source read from two lanes gets its rows from both before its
    grids are made (:class:`careweave.measures.compute._Gather`)."""
    import numpy as np

    from careweave.measures.compute import LanePlan, _Gather

    def pick(t: object) -> tuple[None, None]:
        return None, None

    plan = LanePlan(
        [
            ("hospital_spells", [("emergency_admissions", pick), ("both", pick)]),
            ("index_discharges", [("index_discharges", pick)]),
            ("hospital_spells.discharged", [("both", pick)]),
        ],
        ("spend_nothing",),
    )
    parts = plan.split()
    assert [[name for name, _ in p.lanes] for p in parts] == [
        ["hospital_spells"],
        ["index_discharges"],
        ["hospital_spells.discharged"],
        [],
    ]
    assert parts[-1].empty == ("spend_nothing",) and all(not p.empty for p in parts[:-1])
    assert sorted(s for p in parts for s in p.sources) == sorted(
        [*plan.sources, "both"]
    )  # "both" in two plans

    def rows(*gids: int) -> list[dict[str, np.ndarray]]:
        a = np.asarray(gids, dtype=np.int64)
        return [{"gid": a, "band": a * 0, "bucket": a * 0, "value": a * 0 + 1}]

    gather = _Gather(plan)
    assert gather.add("both", rows(1, 2)) is None  # one of its two lanes in
    whole = gather.add("both", rows(3))
    assert whole is not None and whole["gid"].tolist() == [1, 2, 3]
    one = gather.add("emergency_admissions", rows(5))
    assert one is not None and one["gid"].tolist() == [5]
    empty = gather.add("spend_nothing", [])
    assert empty is not None and len(empty["gid"]) == 0
