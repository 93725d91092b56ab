"""A small planted ``population_measures`` and budget files for the budgets tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from careweave.budgets.file import add_months
from careweave.measures.results import write

REGISTER = "case_management_register_share"
SPEND = "spend_per_head"
ADMISSIONS = "emergency_admissions_per_1000"
SOCIAL = "spend_per_head_social_care"
BASE_START = dt.date(2024, 4, 1)
YEAR_START = dt.date(2025, 4, 1)
#: Baseline months (12): 100 of 10,000 on the register (1%); the year's first six months
#: rise by 15 a month: 115, 130, ... 190.
BASELINE = [100] * 12
YEAR = [115, 130, 145, 160, 175, 190]
LIST = 10_000.0
#: Practice GP9: 3 people on the register each month (suppressed: fewer than 8).
SMALL = 3

BUDGET = """
name = "Test fund"
year_start = "2025-04"

[[partner]]
id = "nhs"
name = "NHS"
kind = "nhs"
contribution = 1000000

[[partner]]
id = "council"
name = "Council"
kind = "local_authority"
contribution = 500000

[[scheme]]
id = "S1"
name = "Case management"
allocation = 1200000
funded_by = { nhs = 900000, council = 300000 }
population = { area = "board" }
baseline = { from = "2024-04", to = "2025-03" }

[[scheme.kpi]]
id = "case_management_register_share"
target = 0.02

[[scheme.kpi]]
id = "emergency_admissions_per_1000"
monitor_only = true

[[scheme]]
id = "S2"
name = "A small practice"
allocation = 100000
funded_by = { council = 100000 }
population = { area = "practice:GP9" }
baseline = { from = "2024-04", to = "2025-03" }

[[scheme.kpi]]
id = "case_management_register_share"
target = 0.02

[[scheme]]
id = "S3"
name = "Care packages"
allocation = 100000
funded_by = { council = 100000 }
spend_settings = ["social_care"]
baseline = { from = "2024-04", to = "2025-03" }
"""


def month_end(d: dt.date) -> dt.date:
    return add_months(d, 1) - dt.timedelta(days=1)


def _row(
    measure: str, start: dt.date, by: str, value: str, num: float, den: float, per: float
) -> dict[str, object]:
    return {
        "measure": measure,
        "interval": "month",
        "interval_start": start,
        "interval_end": month_end(start),
        "group_by": by,
        "group_value": value,
        "numerator": float(num),
        "denominator": float(den),
        "value": num / den * per,
        "ci_lower": None,
        "ci_upper": None,
        "unit": "test",
        "engine": "duckdb",
        "definition_version": "test",
        "computed_at": pd.Timestamp("2026-01-01"),
    }


def plant(path: Path) -> Path:
    """Baseline April 2024 - March 2025 and the year's first six months (to September 2025)."""
    rows = []
    for i, n in enumerate(BASELINE + YEAR):
        m = add_months(BASE_START, i)
        rows.append(_row(REGISTER, m, "all", "all", n, LIST, 1))
        rows.append(_row(REGISTER, m, "practice", "GP9", SMALL, 400.0, 1))
        rows.append(_row(ADMISSIONS, m, "all", "all", 80 + (i % 3), 833.0, 1000))
        # £100,000 of costed activity a month, over 833 person-years
        rows.append(_row(SPEND, m, "all", "all", 100_000.0, 833.0, 1))
        rows.append(_row(SPEND, m, "practice", "GP9", 4_000.0, 33.0, 1))
        # of which £30,000 social care (finance's split by setting)
        rows.append(_row(SOCIAL, m, "all", "all", 30_000.0, 833.0, 1))
    write(path, pd.DataFrame(rows), [REGISTER, ADMISSIONS, SPEND, SOCIAL], ("all", "practice"))
    return path


def budget_file(tmp: Path, text: str = BUDGET) -> Path:
    p = tmp / "budget.toml"
    p.write_text(text)
    return p
