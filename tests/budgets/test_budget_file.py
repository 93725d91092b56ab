"""Budget file errors name the file and the field; the shipped example is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from careweave.budgets.file import example_path, load_budget, parse_budget
from careweave.errors import CareweaveError, InputError

from .helpers import BUDGET


def test_the_shipped_example_is_valid_and_encodes_seed_004() -> None:
    b = load_budget(example_path())
    ltc1 = next(s for s in b.scheme if s.id == "LTC1")
    targets = {k.id: (k.target, k.target_change, k.monitor_only) for k in ltc1.kpi}
    assert targets["people_with_care_plan"] == (None, 0.30, False)
    assert targets["case_management_register_share"] == (0.02, None, False)
    assert targets["care_home_residents_with_care_plan_share"] == (0.95, None, False)
    assert targets["emergency_admissions_per_1000"][2] is True
    # virtual-ward occupancy has no KPI: said in the file, not invented
    text = example_path().read_text()
    assert "Virtual Ward" in text and "NO KPI" in text
    assert "virtual" not in " ".join(targets)


def test_load_budget_default_is_the_example() -> None:
    assert load_budget(None).name == load_budget(example_path()).name


def _error(text: str) -> str:
    with pytest.raises(InputError) as e:
        parse_budget(text, "budget.toml")
    assert isinstance(e.value, CareweaveError) and e.value.exit_code == 2
    message = str(e.value)
    assert "\n" not in message
    return message


BAD = [
    # (what is replaced, with what, the field named, words of the message)
    (
        'id = "case_management_register_share"\ntarget = 0.02',
        'id = "no_such_kpi"\ntarget = 0.02',
        "scheme[S1].kpi[no_such_kpi].id",
        "not a KPI of the measures catalogue",
    ),
    (
        'target = 0.02\n\n[[scheme.kpi]]\nid = "emergency',
        'target = 95\n\n[[scheme.kpi]]\nid = "emergency',
        "scheme[S1].kpi[case_management_register_share].target",
        "fraction from 0 to 1",
    ),
    (
        'target = 0.02\n\n[[scheme.kpi]]\nid = "emergency',
        '\n\n[[scheme.kpi]]\nid = "emergency',
        "scheme[S1].kpi[case_management_register_share].target",
        "give a target or a target_change",
    ),
    (
        "funded_by = { nhs = 900000, council = 300000 }",
        "funded_by = { nhs = 900000, council = 200000 }",
        "scheme[S1].funded_by",
        "not the allocation £1,200,000.00",
    ),
    (
        "funded_by = { nhs = 900000, council = 300000 }",
        "funded_by = { nhs = 900000, county = 300000 }",
        "scheme[S1].funded_by.county",
        "no partner 'county'",
    ),
    (
        "contribution = 500000",
        "contribution = 300000",
        "partner[council].contribution",
        "less than its shares",
    ),
    (
        "contribution = 500000",
        "contribution = -5",
        "partner[council].contribution",
        "greater than or equal to 0",
    ),
    (
        'kind = "local_authority"',
        'kind = "county"',
        "partner[council].kind",
        "'nhs', 'local_authority' or 'other'",
    ),
    (
        'population = { area = "practice:GP9" }',
        'population = { area = "ward:W1" }',
        "scheme[S2].population.area",
        "board, locality:<org id> or practice:<org id>",
    ),
    (
        'population = { area = "board" }',
        'population = { area = "board", ccm_level = 5 }',
        "scheme[S1].population.ccm_level",
        "less than or equal to 4",
    ),
    (
        'population = { area = "board" }',
        'population = { area = "board", ccm_level = 4, segment = "frail" }',
        "scheme[S1].population",
        "not both",
    ),
    (
        'baseline = { from = "2024-04", to = "2025-03" }\n\n[[scheme.kpi]]\nid = "case_management_register_share"\ntarget = 0.02\n\n[[scheme.kpi]]',
        'baseline = { from = "2024-04", to = "2025-04" }\n\n[[scheme.kpi]]\nid = "case_management_register_share"\ntarget = 0.02\n\n[[scheme.kpi]]',
        "scheme[S1].baseline.to",
        "before the year",
    ),
    (
        'baseline = { from = "2024-04", to = "2025-03" }\n\n[[scheme.kpi]]\nid = "case_management_register_share"\ntarget = 0.02\n\n[[scheme.kpi]]',
        'baseline = { from = "2024-13", to = "2025-03" }\n\n[[scheme.kpi]]\nid = "case_management_register_share"\ntarget = 0.02\n\n[[scheme.kpi]]',
        "scheme[S1].baseline.from",
        "not a month",
    ),
    ('year_start = "2025-04"', 'year_start = "April"', "year_start", "not a month"),
    (
        'year_start = "2025-04"',
        'year_starts = "2025-04"',
        "year_starts",
        "not a field of a budget file",
    ),
    ('year_start = "2025-04"', "", "year_start", "missing"),
    (
        "monitor_only = true",
        "monitor_only = true\ntarget = 70",
        "scheme[S1].kpi[emergency_admissions_per_1000].monitor_only",
        "no target",
    ),
    (
        'target = 0.02\n\n[[scheme.kpi]]\nid = "emergency',
        'target = 0.02\ntrajectory = { "2026-04" = 0.015 }\n\n[[scheme.kpi]]\nid = "emergency',
        "scheme[S1].kpi[case_management_register_share].trajectory.2026-04",
        "not a month of the budget year",
    ),
    ("allocation = 100000", 'allocation = "lots"', "scheme[S2].allocation", "valid number"),
    ('id = "S2"', 'id = "S1"', "scheme[S1].id", "two schemes with this id"),
    (
        'spend_settings = ["social_care"]',
        'spend_settings = ["hospital"]',
        "scheme[S3].spend_settings",
        "'hospital' is not a setting (choose from acute, community",
    ),
]


@pytest.mark.parametrize(("old", "new", "field", "words"), BAD)
def test_errors_name_the_file_and_the_field(old: str, new: str, field: str, words: str) -> None:
    assert old in BUDGET
    message = _error(BUDGET.replace(old, new, 1))
    assert message.startswith(f"budget.toml: {field}"), message
    assert words in message, message


def test_not_toml_names_the_file() -> None:
    assert _error("name = ").startswith("budget.toml: not valid TOML")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.toml: no such budget file"):
        load_budget(tmp_path / "nope.toml")
