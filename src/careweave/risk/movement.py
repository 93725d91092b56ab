"""Movement between CCM levels from one as-of date to another.

Over the people scored at both dates: the transition matrix (rows: level at
the earlier date, columns: level at the later date) and the share of people
who moved to a lower level.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

LEVELS = (1, 2, 3, 4)


def transitions(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, Any]:
    """``before``/``after``: nhs_number and ccm_level. Returns matrix and shares."""
    both = before[["nhs_number", "ccm_level"]].merge(
        after[["nhs_number", "ccm_level"]], on="nhs_number", suffixes=("_from", "_to")
    )
    matrix = {
        str(a): {
            str(b): int(((both.ccm_level_from == a) & (both.ccm_level_to == b)).sum())
            for b in LEVELS
        }
        for a in LEVELS
    }
    n = len(both)
    down = int((both.ccm_level_to < both.ccm_level_from).sum())
    up = int((both.ccm_level_to > both.ccm_level_from).sum())
    return {
        "people_in_both": n,
        "matrix": matrix,
        "moved_down": down,
        "moved_up": up,
        "share_moved_down": down / n if n else None,
        "share_moved_up": up / n if n else None,
    }
