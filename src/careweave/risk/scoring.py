"""Scoring for `careweave stratify`: score everyone, tier them, segment them, write ``risk_scores``.

Each row keeps the person's 12-month spend and the identity of the tariff that
priced it (careweave.dataset.tariff.identity), so the workbench and reports read
spend instead of recomputing it.

Features and spend run on the chosen engine (DuckDB or Spark); scoring,
policy, segments and explanations run in-process on the resulting frame, so
both engines give identical scores for identical features.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from careweave import duck
from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.schema import Kind
from careweave.dataset.tariff import Tariff, identity, load_tariff
from careweave.errors import InputError
from careweave.risk import explain, features, movement, segments
from careweave.risk.policy import Policy, load_policy
from careweave.risk.training import latest_model, load_model
from careweave.warehouse.engines import Engine, open_engine

CHUNK = 200_000  # people scored at a time

_SQL_TYPES = {
    Kind.STRING: "VARCHAR",
    Kind.FLOAT: "DOUBLE",
    Kind.SMALLINT: "SMALLINT",
    Kind.INT: "BIGINT",
    Kind.BOOL: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.STRING_LIST: "VARCHAR[]",
}


def score(frame: pd.DataFrame, art: dict[str, Any], policy: Policy) -> pd.DataFrame:
    """Probability, rank, level, band, frailty, segment, re-admitter and explanation per person.

    ``frame`` is a feature frame (features.compute) with a ``spend_12m`` column.
    """
    model = art["model"]
    # features() already orders by NHS number: sort (a copy of every column) only if needed,
    # and work on a shallow copy, so the caller's frame gains no columns.
    if not frame["nhs_number"].is_monotonic_increasing:
        frame = frame.sort_values("nhs_number", kind="stable")
    n = len(frame)
    if not frame.index.equals(pd.RangeIndex(n)):
        frame = frame.reset_index(drop=True)
    frame = frame.copy(deep=False)
    # In chunks: the design matrix of a million people would otherwise cost gigabytes.
    chunks = [frame.iloc[i : i + CHUNK] for i in range(0, n, CHUNK)]
    # One design matrix per chunk gives both the probabilities and the explanations.
    parts = [model.predict_and_contributions(c) for c in chunks]
    p = np.concatenate([q for q, _, _ in parts]) if n else np.zeros(0)
    order = np.argsort(-p, kind="stable")  # ties: NHS number order
    top_rank = np.empty(n, dtype=np.int64)
    top_rank[order] = np.arange(1, n + 1)
    scored = frame  # a shallow copy: new columns are added in place, nothing is copied
    scored["probability"] = p
    scored["risk_score"] = 100.0 * p
    scored["top_rank"] = top_rank
    scored["percentile"] = 100.0 * (n - top_rank + 1) / max(n, 1)
    scored["frailty_category"] = np.where(frame["age"] >= 65, frame["efi_category"], "unknown")
    scored["ccm_level"] = policy.level_of(scored)
    scored["risk_band"] = policy.band_of(scored)
    scored["readmitter"] = policy.readmitter_of(scored)
    scored["segment"] = segments.segment(scored, scored["frailty_category"])
    words: list[list[str]] = []
    for c, (_, drivers, contrib) in zip(chunks, parts, strict=True):
        words += explain.explain(c, drivers, contrib)  # explain reads rows by position
    del parts
    scored["explanation"] = words
    scored["model_version"] = art["version"]
    return scored


def risk_scores_table(scored: pd.DataFrame, as_of: dt.date, tariff: str) -> pa.Table:
    """The ``risk_scores`` rows of ``scored`` at ``as_of``, spend priced by ``tariff`` (identity)."""
    constant = {"as_of": as_of, "tariff": tariff}
    cols: dict[str, Any] = {
        c.name: scored[c.name] for c in RISK_SCORES.columns if c.name not in constant
    }
    for name, value in constant.items():
        cols[name] = pd.Series([value] * len(scored), dtype=object)
    arrays = [
        pa.array(
            list(cols[c.name]) if c.kind == Kind.STRING_LIST else cols[c.name], type=c.kind.arrow
        )
        for c in RISK_SCORES.columns
    ]
    return pa.Table.from_arrays(arrays, schema=RISK_SCORES.arrow_schema)


def write_risk_scores(warehouse: Path, table: pa.Table, as_of: dt.date) -> None:
    """Replace the rows for ``as_of`` in ``risk_scores``, in one transaction.

    A ``risk_scores`` written before a column was added gains it (null in older rows).
    """

    ddl = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in RISK_SCORES.columns)
    con = duck.connect(warehouse)
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE TABLE IF NOT EXISTS risk_scores ({ddl})")
        for c in RISK_SCORES.columns:
            if c.may_be_absent:
                con.execute(
                    f'ALTER TABLE risk_scores ADD COLUMN IF NOT EXISTS "{c.name}" '
                    f"{_SQL_TYPES[c.kind]}"
                )
        con.execute("DELETE FROM risk_scores WHERE as_of = ?", [as_of])
        con.register("_new_scores", table)
        names = ", ".join(f'"{c.name}"' for c in RISK_SCORES.columns)
        # The whole table rewritten in NHS-number order (each person's runs together): the
        # patient page reads one person's history by zone map, which an appended run
        # (covering every NHS number again) would defeat. Typed as the DDL says.
        typed = ", ".join(
            f'CAST("{c.name}" AS {_SQL_TYPES[c.kind]}) AS "{c.name}"' for c in RISK_SCORES.columns
        )
        con.execute(
            f"CREATE OR REPLACE TABLE risk_scores AS SELECT {typed} FROM ("
            f"SELECT {names} FROM risk_scores UNION ALL SELECT {names} FROM _new_scores"
            ") ORDER BY nhs_number, as_of"
        )
        con.unregister("_new_scores")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def read_levels(warehouse: Path, as_of: dt.date) -> pd.DataFrame | None:

    con = duck.connect(warehouse, read_only=True)
    try:
        names = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if "risk_scores" not in names:
            return None
        df = con.execute(
            "SELECT nhs_number, ccm_level FROM risk_scores WHERE as_of = ?", [as_of]
        ).df()
    finally:
        con.close()
    return df if len(df) else None


def compute(
    engine: Engine, as_of: dt.date, art: dict[str, Any], policy: Policy, tariff: Tariff
) -> pd.DataFrame:
    """Features + spend on ``engine``, then :func:`score`."""
    feat = features.features(engine, as_of, ordered=False)  # ordered once, after the join
    spend = segments.spend(engine, as_of, tariff)
    joined = feat.left_join(spend, "nhs_number").drop("nhs_number_right")
    joined = joined.mutate(spend_12m=joined.spend_12m.fill_null(0.0)).order_by("nhs_number")
    frame = engine.to_arrow(joined).to_pandas()
    return score(frame, art, policy)


def _summary(
    scored: pd.DataFrame,
    as_of: dt.date,
    engine: str,
    art: dict[str, Any],
    policy: Policy,
    tariff: str,
) -> dict[str, Any]:
    n = len(scored)
    counts = scored["ccm_level"].value_counts()
    levels = {str(lv): int(counts.get(lv, 0)) for lv in (1, 2, 3, 4)}
    bands = scored["risk_band"].value_counts()
    return {
        "as_of": as_of.isoformat(),
        "engine": engine,
        "people": n,
        "model_version": art["version"],
        "policy": policy.source,
        "tariff": tariff,
        "levels": levels,
        "level_shares": {k: (v / n if n else 0.0) for k, v in levels.items()},
        "level_names": {str(k): v for k, v in policy.level_names().items()},
        "bands": {str(k): int(v) for k, v in bands.items()},
        "readmitters": int(scored["readmitter"].sum()),
        "segments": segments.report(scored["segment"], scored["spend_12m"]),
    }


def stratify(
    warehouse: Path,
    as_of: dt.date,
    *,
    model: Path | None = None,
    engine: str = "duckdb",
    compare_to: dt.date | None = None,
    policy: Path | None = None,
    tariff: Path | None = None,
) -> dict[str, Any]:
    """Score and tier everyone at ``as_of``, write ``risk_scores``; the JSON summary."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise InputError(f"{warehouse}: no such warehouse")
    pol = load_policy(policy)
    tar = load_tariff(tariff)
    tariff_id = identity(tar, tariff)
    art = load_model(model or latest_model(warehouse))
    if compare_to is not None and compare_to >= as_of:
        raise InputError(f"--compare-to: {compare_to} must be before --as-of {as_of}")
    eng = open_engine(engine, warehouse)
    try:
        scored = compute(eng, as_of, art, pol, tar)
        before = None
        if compare_to is not None:
            before = read_levels(warehouse, compare_to)
            if before is None:
                before = compute(eng, compare_to, art, pol, tar)
                prior_table = risk_scores_table(before, compare_to, tariff_id)
            else:
                prior_table = None
    finally:
        eng.close()
    write_risk_scores(warehouse, risk_scores_table(scored, as_of, tariff_id), as_of)
    summary = _summary(scored, as_of, engine, art, pol, tariff_id)
    if compare_to is not None and before is not None:
        if prior_table is not None:
            write_risk_scores(warehouse, prior_table, compare_to)
        summary["movement"] = {
            "from": compare_to.isoformat(),
            "to": as_of.isoformat(),
            **movement.transitions(before, scored),
        }
    return summary
