"""Spend by setting and funder: the measures' cost definition split by the tariff.

Each tariff item (``"section.item"``, :mod:`careweave.dataset.tariff`) has a
**setting** (acute, community, primary care, prescribing, mental health, social
care) and a **funder** (NHS, local authority, pooled); every costed activity row
(:func:`careweave.definitions.costs.dated_parts`, ``weekly_parts``) carries the
item it is priced as. The split is nine catalogue KPIs, ``spend_per_head_<setting>``
and ``spend_per_head_<funder>``, computed by the measures engine like every other
KPI (so on DuckDB or Spark, for each month and rolling 12 months, by any
dimension, written to ``population_measures``): the numerator is the total in
pounds, the denominator person-years of the registered population, the value
pounds per person-year. ``spend_per_head`` (all activity) is the sum of the same
sources, so the settings add up to it exactly, and so do the funders.

"Per year" is the rolling 12 months; the financial year is the rolling 12 months
ending on 31 March. The default grouping is the whole board, segment, CCM level,
locality and practice.

:func:`spend_by_setting_and_funder` is the public entry (the pooled budgets use it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from careweave.dataset.tariff import FUNDERS, LABELS, SETTINGS, Funding, Tariff
from careweave.measures.catalogue import Kpi, select

#: The dimensions spend is split by unless told otherwise.
DEFAULT_DIMS = ("segment", "ccm_level", "locality", "practice")
TOTAL = "spend_per_head"
#: (split, category) -> catalogue KPI.
KPIS: dict[tuple[str, str], str] = {
    ("total", "all"): TOTAL,
    **{("setting", s): f"{TOTAL}_{s}" for s in SETTINGS},
    **{("funder", f): f"{TOTAL}_{f}" for f in FUNDERS},
}
COLUMNS = (
    "split",
    "category",
    "label",
    "interval",
    "interval_start",
    "interval_end",
    "group_by",
    "group_value",
    "spend",
    "person_years",
    "per_head",
)


def spend_kpis() -> list[Kpi]:
    """The catalogue KPIs of the split (total, each setting, each funder)."""
    return select(list(KPIS.values()))


def spend_table(results: pd.DataFrame) -> pd.DataFrame:
    """Measures results (``population_measures`` rows or :class:`Computed.results`) of the
    spend KPIs as the spend table: split (total|setting|funder), category, label, interval,
    interval_start, interval_end, group_by, group_value, spend (pounds), person_years,
    per_head (pounds per person-year)."""
    by_kpi = {v: k for k, v in KPIS.items()}
    r = results[results["measure"].isin(list(by_kpi))]
    split = r["measure"].map(lambda m: by_kpi[m][0])
    category = r["measure"].map(lambda m: by_kpi[m][1])
    out = pd.DataFrame(
        {
            "split": split,
            "category": category,
            "label": category.map(lambda c: LABELS.get(c, "All activity")),
            "interval": r["interval"],
            "interval_start": r["interval_start"],
            "interval_end": r["interval_end"],
            "group_by": r["group_by"],
            "group_value": r["group_value"],
            "spend": r["numerator"],
            "person_years": r["denominator"],
            "per_head": r["value"],
        }
    )
    order = {k: i for i, k in enumerate(KPIS)}
    out["_o"] = [order[(a, b)] for a, b in zip(out["split"], out["category"], strict=True)]
    keys = ["group_by", "group_value", "interval", "interval_end", "_o"]
    return out.sort_values(keys).drop(columns="_o").reset_index(drop=True)


def compute_spend(
    engine: Any,
    start: dt.date,
    end: dt.date,
    tariff: Tariff,
    funding: Funding,
    dims: tuple[str, ...] = DEFAULT_DIMS,
) -> pd.DataFrame:
    """The spend table over an open engine (true figures; nothing written)."""
    from careweave.measures.compute import compute

    computed = compute(engine, start, end, spend_kpis(), dims, tariff, funding=funding)
    return spend_table(computed.results)


@dataclass(frozen=True)
class SpendRun:
    """What :func:`spend_by_setting_and_funder` returns."""

    summary: dict[str, Any]  # the measures run's summary (careweave.measures.results.run)
    results: pd.DataFrame  # the population_measures rows written (true figures)

    @property
    def table(self) -> pd.DataFrame:
        """The spend table (true figures; for further arithmetic, not for showing)."""
        return spend_table(self.results)

    def disclosed(self) -> pd.DataFrame:
        """The spend table with disclosure control applied: the form to show or export."""
        return disclosed_spend(self.results)


def spend_by_setting_and_funder(
    warehouse: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dims: tuple[str, ...] = DEFAULT_DIMS,
    engine: str = "duckdb",
    tariff: Path | None = None,
) -> SpendRun:
    """Spend by setting and funder over the warehouse (its span, or [start, end]), for each
    month and rolling 12 months, for the whole board and each of ``dims``.

    Writes the spend KPIs to ``population_measures`` (as ``careweave measures --kpi`` would:
    the pages read them from there) and returns a :class:`SpendRun`. ``tariff`` is a tariff
    override file: its unit costs, ``[setting]`` and ``[funder]``. InputError (exit 2) on an
    unknown dimension or engine, or a bad tariff file, naming it.
    """
    from careweave.measures.results import run

    summary, frame = run(
        Path(warehouse), spend_kpis(), dims, start=start, end=end, engine=engine, tariff=tariff
    )
    return SpendRun(summary, frame)


def disclosed_spend(results: pd.DataFrame) -> pd.DataFrame:
    """The spend table from measures results with disclosure control applied
    (:mod:`careweave.measures.disclosure`: person-years rounded to 5, a row resting on fewer
    than 8 person-years hidden, per head worked out again from the shown figures)."""
    from careweave.measures.disclosure import safe_frame

    kpis = {k.name: k for k in spend_kpis()}
    r = results[results["measure"].isin(list(kpis))]
    return spend_table(safe_frame(r, kpis))
