"""Population segmentation: age band x hierarchical need, with spend from the tariff.

Age bands: children (0-17), adults (18-69), 70+ (the ``segment`` scheme of
:mod:`careweave.definitions.population`).

Need is the FIRST of these that applies (highest need first), in the spirit of
the Bridges to Health segments (Lynn et al., Milbank Q 2007) and seed 001's
"mostly healthy / chronic conditions / severe and complex" split:

1. end of life            - on the palliative care register
2. dementia               - dementia register
3. frail                  - eFI moderate or severe (aged 65+), or lives in a care home
4. cancer                 - cancer register
5. serious mental illness - SMI register
6. learning disability    - learning disability register
7. physical disability    - hemiplegia, paraplegia, cerebral palsy, multiple sclerosis
8. 2+ long-term conditions
9. one long-term condition
10. mostly healthy

Spend per person is the cost of their activity in the 12 months to the as-of
date, under the shared cost definition (:mod:`careweave.definitions.costs`):
a row's own ``cost`` where it has one, else the tariff
(careweave.dataset.tariff; overridable with ``--tariff FILE``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from careweave.dataset.tariff import Tariff
from careweave.definitions import costs
from careweave.definitions.population import SEGMENT

AGE_BANDS = SEGMENT.labels
NEEDS = (
    "end of life",
    "dementia",
    "frail",
    "cancer",
    "serious mental illness",
    "learning disability",
    "physical disability",
    "2+ long-term conditions",
    "one long-term condition",
    "mostly healthy",
)
SPEND_DAYS = 365


def _age_band_index(age: Any) -> Any:
    return SEGMENT.index(age)


def age_band(age: Any) -> Any:
    return np.asarray(AGE_BANDS)[_age_band_index(age)]


def _need_index(frame: pd.DataFrame, frailty_category: Any) -> Any:
    """Index into NEEDS of each person's need: the first that applies."""
    frail = np.isin(np.asarray(frailty_category), ["moderate", "severe"]) | (
        frame["care_home"].to_numpy() > 0
    )
    conditions = [
        frame["reg_palliative_care"].to_numpy() > 0,
        frame["reg_dementia"].to_numpy() > 0,
        frail,
        frame["reg_cancer"].to_numpy() > 0,
        frame["reg_smi"].to_numpy() > 0,
        frame["reg_learning_disability"].to_numpy() > 0,
        frame["reg_physical_disability"].to_numpy() > 0,
        frame["ltc_count"].to_numpy() >= 2,
        frame["ltc_count"].to_numpy() == 1,
    ]
    return np.select(conditions, list(range(len(NEEDS) - 1)), default=len(NEEDS) - 1)


def need(frame: pd.DataFrame, frailty_category: Any) -> Any:
    return np.asarray(NEEDS)[_need_index(frame, frailty_category)]


def segment(frame: pd.DataFrame, frailty_category: Any) -> Any:
    """'<age band> / <need>' for each person (an object array of str)."""
    # Build each of the 30 '<band> / <need>' strings once, then pick them by index.
    names = np.array([f"{b} / {n}" for b in AGE_BANDS for n in NEEDS], dtype=object)
    idx = _age_band_index(frame["age"].to_numpy()) * len(NEEDS)
    return names[idx + _need_index(frame, frailty_category)]


def spend(engine: Any, as_of: dt.date, tariff: Tariff) -> Any:
    """Ibis: nhs_number, spend_12m (pounds) over activity in (D - 365, D]
    (the shared cost definition, :func:`careweave.definitions.costs.spend`)."""
    out = costs.spend(engine, tariff, as_of - dt.timedelta(days=SPEND_DAYS), as_of)
    return out.select("nhs_number", spend_12m=out.spend)


def report(segments: Any, spend_12m: Any) -> list[dict[str, Any]]:
    """Per segment: people, share of people, spend per head, share of spend."""
    df = pd.DataFrame({"segment": segments, "spend": spend_12m})
    total_people = len(df)
    total_spend = float(df["spend"].sum()) or 1.0
    g = df.groupby("segment")["spend"].agg(["count", "sum"])
    order = {f"{b} / {n}": (i, j) for i, b in enumerate(AGE_BANDS) for j, n in enumerate(NEEDS)}
    rows = []
    for seg in sorted(g.index, key=lambda s: order.get(s, (99, 99))):
        count, total = int(g.loc[seg, "count"]), float(g.loc[seg, "sum"])
        rows.append(
            {
                "segment": seg,
                "people": count,
                "share_of_people": count / total_people,
                "spend_per_head": total / count,
                "share_of_spend": total / total_spend,
            }
        )
    return rows
