"""The tier policy: each rule, the default tiers, and validation errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careweave.errors import InputError
from careweave.risk import features
from careweave.risk.policy import load_policy, parse_rule


def _frame(n: int = 1000) -> pd.DataFrame:
    """n people with probabilities 1..n / (n+1) (person n-1 highest), all features 0."""
    df = pd.DataFrame({c: np.zeros(n, dtype=np.int64) for c in features.feature_columns()})
    p = np.arange(1, n + 1) / (n + 1)
    df["probability"] = p
    df["risk_score"] = 100 * p
    df["top_rank"] = n - np.arange(n)
    df["percentile"] = 100.0 * (n - df["top_rank"] + 1) / n
    df["sex"] = "female"
    df["frailty_category"] = "fit"
    df["efi_category"] = "fit"
    df["hfrs_category"] = "low"
    return df


def test_top_percent_takes_exactly_that_share() -> None:
    df = _frame()
    hit = parse_rule("top 0.5%", "t").holds(df)
    assert hit.sum() == 5 and hit[-5:].all()
    assert parse_rule("top 5%", "t").holds(df).sum() == 50


def test_risk_score_threshold() -> None:
    df = _frame()
    hit = parse_rule("risk score > 70", "t").holds(df)
    assert np.array_equal(hit, df["risk_score"].to_numpy() > 70)
    assert 290 <= hit.sum() <= 300


def test_aged_75_with_two_ltcs() -> None:
    df = _frame(4)
    df["age"] = [80, 80, 74, 90]
    df["ltc_count"] = [2, 1, 3, 5]
    hit = parse_rule("age >= 75 and ltc_count >= 2", "t").holds(df)
    assert hit.tolist() == [True, False, False, True]


def test_categorical_and_everyone_rules() -> None:
    df = _frame(3)
    df["frailty_category"] = ["severe", "fit", "moderate"]
    assert parse_rule("frailty_category = severe", "t").holds(df).tolist() == [True, False, False]
    assert parse_rule("frailty_category != fit", "t").holds(df).tolist() == [True, False, True]
    assert parse_rule("Everyone", "t").holds(df).all()


def test_default_policy_tiers() -> None:
    policy = load_policy()
    df = _frame(1000)
    df.loc[:500, "ltc_count"] = 1  # people 0-500 (the lowest risks) are on a register
    level = policy.level_of(df)
    assert (level[-5:] == 4).all() and (level == 4).sum() == 5
    assert (level == 3).sum() == 45 and (level[-50:-5] == 3).all()
    assert (level[:501] == 2).all()
    assert (level[501:950] == 1).all()
    band = policy.band_of(df)
    assert band[-1] == "very high" and band[-6] == "high" and band[0] == "low"


def test_readmitter_rule() -> None:
    df = _frame(3)
    df["emergency_readmissions_12m"] = [0, 1, 0]
    df["emergency_admissions_12m"] = [1, 1, 3]
    assert load_policy().readmitter_of(df).tolist() == [False, True, True]


def test_user_policy_replaces_default(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(
        '[[levels]]\nlevel = 4\nwhen = ["risk score > 70"]\n'
        '[[levels]]\nlevel = 3\nwhen = ["age >= 75 and ltc_count >= 2"]\n'
        '[[levels]]\nlevel = 2\nwhen = ["ltc_count >= 1"]\n'
        '[[levels]]\nlevel = 1\nwhen = ["everyone"]\n'
        '[[bands]]\nname = "all"\nwhen = ["everyone"]\n'
        '[readmitter]\nwhen = ["emergency_admissions_12m >= 2"]\n'
    )
    policy = load_policy(f)
    df = _frame(10)
    df["age"] = 80
    df["ltc_count"] = [2] * 5 + [0] * 5
    # risk score > 70 for the top 3 (p = 8/11, 9/11, 10/11)
    assert policy.level_of(df).tolist() == [3, 3, 3, 3, 3, 1, 1, 4, 4, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("levels = 3", "levels: expected [[levels]]"),
        ('[[levels]]\nlevel = 5\nwhen = ["everyone"]', "levels[0].level: expected 1, 2, 3 or 4"),
        (
            '[[levels]]\nlevel = 4\nwhen = ["wealth > 3"]',
            "levels[0].when[0]: unknown field 'wealth'",
        ),
        ('[[levels]]\nlevel = 4\nwhen = ["age >> 3"]', "levels[0].when[0]: cannot read"),
        ('[[levels]]\nlevel = 4\nwhen = ["age > old"]', "levels[0].when[0]: age needs a number"),
        ('[[levels]]\nlevel = 4\nwhen = ["top 150%"]', "levels[0].when[0]: 'top X%' needs"),
        ('[[levels]]\nlevel = 4\nwhen = "top 5%"', "levels[0].when: expected a non-empty list"),
        ('[[levels]]\nlevel = 4\nwhen = ["frailty_category > fit"]', "is a category"),
        ('[[levels]]\nlevel = 4\nwhen = ["frailty_category = frail"]', "has no value 'frail'"),
        ('[[levels]]\nlevel = 4\nwhen = ["everyone"]', "need each of levels 1-4 exactly once"),
        ("not = [toml", "not valid TOML"),
    ],
)
def test_bad_policy_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad-policy.toml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        load_policy(f)
    assert str(e.value).startswith(str(f)) and message in str(e.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read policy"):
        load_policy(tmp_path / "nope.toml")
