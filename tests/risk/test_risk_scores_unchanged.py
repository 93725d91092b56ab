"""Scores are unchanged by issue 10 (the card written by the caller, spend kept in risk_scores).

The fingerprint was taken with the code before those changes (commit 434d587):
train at 2021-01-01 and stratify at 2023-01-01 on the session's simulated warehouse
(12,000 people, seed 7), then hash the score columns. The model version (which
digests the coefficients) and every score column must come out the same.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

AS_OF = dt.date(2023, 1, 1)
BEFORE = {"rows": 11646, "fingerprint": 284325730280554912, "model": "2021-01-01-5cc41336"}
LEVELS_BEFORE = {"1": 7868, "2": 3195, "3": 524, "4": 59}
COLUMNS = (
    "nhs_number, as_of, probability, percentile, risk_band, ccm_level, segment, "
    "frailty_category, readmitter, explanation, model_version"
)


def test_scores_identical_to_before(sim_warehouse: Path, trained: dict[str, Any]) -> None:
    from careweave import risk

    summary = risk.stratify(sim_warehouse, AS_OF, model=Path(trained["model"]))
    con = duckdb.connect(str(sim_warehouse), read_only=True)
    try:
        df = con.execute(
            f"SELECT {COLUMNS} FROM risk_scores WHERE as_of = ? ORDER BY nhs_number", [AS_OF]
        ).df()
    finally:
        con.close()
    # Rounded far below any meaningful difference, so the last bit of a float cannot flake.
    df["probability"] = df["probability"].round(12)
    df["percentile"] = df["percentile"].round(9)
    df["explanation"] = df["explanation"].map("|".join)
    fingerprint = int(pd.util.hash_pandas_object(df, index=False).sum()) % (2**61)
    assert trained["version"] == BEFORE["model"]
    assert summary["levels"] == LEVELS_BEFORE
    assert (len(df), fingerprint) == (BEFORE["rows"], BEFORE["fingerprint"])
