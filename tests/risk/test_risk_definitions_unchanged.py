"""Risk features and spend are unchanged by the move to careweave.definitions.

The fingerprints below were taken from the code before the refactor (features
and segment spend on 6,000 simulated people at two dates); the shared
definitions must reproduce them value for value.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from careweave.dataset.tariff import default_tariff
from careweave.risk import features, segments
from careweave.warehouse.engines import engine_from_tables
from risk.simdata import simulate

BEFORE = {
    dt.date(2021, 3, 1): {
        "features": (5937, 878746159710846044),
        "spend": (3031, 1902758186138432497),
    },
    dt.date(2022, 7, 1): {
        "features": (5870, 599884281344402167),
        "spend": (2958, 385022843771823983),
    },
}


def _fingerprint(frame: pd.DataFrame) -> tuple[int, int]:
    return len(frame), int(pd.util.hash_pandas_object(frame, index=False).sum()) % (2**61)


def test_features_and_spend_identical_to_before_the_refactor() -> None:
    engine = engine_from_tables("duckdb", simulate(6000, seed=3))
    try:
        for as_of, want in BEFORE.items():
            f = features.compute(engine, as_of)
            s = engine.to_arrow(
                segments.spend(engine, as_of, default_tariff()).order_by("nhs_number")
            ).to_pandas()
            assert _fingerprint(f) == want["features"], as_of
            assert _fingerprint(s) == want["spend"], as_of
    finally:
        engine.close()
