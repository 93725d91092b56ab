"""The needs assessment made safe to show: the one path the CLI, the pages and the PDF use.

Disclosure control (:mod:`careweave.measures.disclosure`) comes first: the
registered population and the recorded count are rounded to 5, or suppressed
when 1 to 7; an area of fewer than 8 people shows nothing. Every derived figure
is then worked out from the shown counts: recorded prevalence, the ratio to
expected and the gap with their 95% intervals
(:func:`careweave.stats.standardise.compare`), so a suppressed count cannot be
recovered from a gap. The expected count is a model figure (the reference
prevalence times the area's people by age and sex), shown to whole people. At
each CCM level, people, conditions and activity counts pass the same rule; bed
days and person-years are rounded to 5; spend (money) is shown as it is, and
spend per head is worked out from the rounded person-years.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from careweave.measures.disclosure import ROUND_TO, THRESHOLD, round_count
from careweave.stats.standardise import compare


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def safe_prevalence_row(row: dict[str, Any]) -> dict[str, Any]:
    """One area's register, as shown: counts rounded or suppressed, the rest from them."""
    pop = round_count(int(row["population"]))
    rec = round_count(int(row["recorded"]))
    expected = _num(row.get("expected"))
    hidden_area = pop is None
    out: dict[str, Any] = {
        "register": row["register"],
        "label": row["label"],
        "group_by": row["group_by"],
        "group_value": row["group_value"],
        "population": pop,
        "recorded": None if hidden_area else rec,
        "suppressed": hidden_area or rec is None,
        "expected": None if hidden_area or expected is None else round(expected),
        "recorded_prevalence": None,
        "expected_prevalence": None,
        "ratio": None,
        "ratio_lower": None,
        "ratio_upper": None,
        "gap": None,
        "gap_lower": None,
        "gap_upper": None,
    }
    if hidden_area or not pop:
        return out
    if rec is not None:
        out["recorded_prevalence"] = rec / pop
    if expected is None:
        return out
    out["expected_prevalence"] = expected / pop
    if rec is None:
        return out
    c = compare(rec, expected)
    out.update(
        ratio=c.ratio,
        ratio_lower=c.ratio_lower,
        ratio_upper=c.ratio_upper,
        gap=c.gap,
        gap_lower=c.gap_lower,
        gap_upper=c.gap_upper,
    )
    return out


def safe_prevalence(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [safe_prevalence_row(r) for r in frame.to_dict("records")]


def safe_levels(frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """CCM level -> item -> {label, kind, value (shown), suppressed}; with ``spend_per_head``."""
    out: dict[int, dict[str, Any]] = {}
    for r in frame.to_dict("records"):
        level = int(r["ccm_level"])
        v = _num(r["value"])
        kind = r["kind"]
        suppressed = False
        if v is None:
            shown: float | None = None
        elif kind in ("people", "condition", "activity"):
            n = round_count(v)
            shown, suppressed = (None, True) if n is None else (float(n), False)
        elif kind in ("days", "exposure"):
            shown = float(ROUND_TO * round(v / ROUND_TO))
            if 0 < v < THRESHOLD:
                shown, suppressed = None, True
        else:  # money
            shown = round(v, 2)
        out.setdefault(level, {})[r["item"]] = {
            "label": r["label"],
            "kind": kind,
            "value": shown,
            "suppressed": suppressed,
        }
    for items in out.values():
        spend = items.get("spend", {}).get("value")
        years = items.get("person_years", {}).get("value")
        per_head = spend / years if spend is not None and years else None
        items["spend_per_head"] = {
            "label": "Spend per person-year (£)",
            "kind": "spend",
            "value": per_head,
            "suppressed": False,
        }
    return out
