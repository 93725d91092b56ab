"""Capitation results made safe to show (CLI, JSON, pages, PDF): the one disclosure rule.

People are counts: rounded to 5, and 1-7 suppressed (:mod:`careweave.measures.disclosure`).
A row resting on fewer than 8 people shows no money and no model figures either (a
per-head figure or an error over a handful of people is close to a person's own cost);
per head is worked out from the shown (rounded) people. Money is shown as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from careweave.measures.disclosure import round_counts


def shown_budgets(frame: pd.DataFrame) -> pd.DataFrame:
    """level, unit, people (rounded; None when suppressed), capitated, actual, per head of
    each, and actual - capitated."""
    shown = round_counts(frame["people"].to_numpy(dtype=np.float64))
    hidden = np.isnan(shown) | (frame["people"].to_numpy() < 8)
    cap = np.where(hidden, np.nan, frame["capitated"].to_numpy(dtype=np.float64))
    act = np.where(hidden, np.nan, frame["actual"].to_numpy(dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "level": frame["level"].to_numpy(),
                "unit": frame["unit"].astype(str).to_numpy(),
                "people": shown,
                "capitated": cap,
                "actual": act,
                "capitated_per_head": np.where(shown > 0, cap / shown, np.nan),
                "actual_per_head": np.where(shown > 0, act / shown, np.nan),
                "difference": act - cap,
            }
        )
    out = out.astype(object).where(out.notna(), None)
    out["people"] = [None if v is None else int(v) for v in out["people"]]
    return out


def card_rows(card: pd.DataFrame) -> list[dict[str, Any]]:
    """The model card's rows with the same rule (groups of fewer than 8 people hidden)."""
    out = []
    for r in card.to_dict("records"):
        people = round_counts(np.asarray([r["people"]], dtype=np.float64))[0]
        hide = bool(np.isnan(people)) or r["people"] < 8
        row = {"group_by": r["group_by"], "group_value": r["group_value"]}
        row["people"] = None if hide else int(people)
        for k in ("r2", "mae", "predicted_total", "actual_total"):
            v = r[k]
            row[k] = None if hide or v is None or v != v else float(v)
        out.append(row)
    return out
