from pathlib import Path

import pytest

from careweave.dataset.tariff import (
    SETTINGS,
    default_funding,
    default_tariff,
    load_funding,
    load_tariff,
)
from careweave.errors import InputError


def test_default_tariff_covers_every_activity() -> None:
    t = default_tariff()
    assert set(t) == {"hospital", "primary_care", "community", "mental_health", "social_care"}
    assert 2000 <= t["hospital"]["emergency_spell"] <= 3500
    assert all(v >= 0 for section in t.values() for v in section.values())


def test_override_merges(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text("[hospital]\nae_attendance = 300\n")
    t = load_tariff(f)
    assert t["hospital"]["ae_attendance"] == 300.0
    assert t["hospital"]["emergency_spell"] == default_tariff()["hospital"]["emergency_spell"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[hospitl]\nx = 1\n", "unknown tariff section"),
        ("[hospital]\nae = 1\n", r"\[hospital\] ae: unknown tariff item"),
        ("[hospital]\nae_attendance = -1\n", "non-negative"),
        ("[hospital]\nae_attendance = 'a'\n", "non-negative"),
        ("[hospital\n", "cannot read tariff"),
    ],
)
def test_bad_override_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        load_tariff(f)
    assert str(f) in str(e.value)


def test_default_funding_gives_every_item_a_setting_and_funder() -> None:
    f = default_funding()
    items = {f"{s}.{i}" for s, v in default_tariff().items() for i in v}
    assert set(f.setting) == set(f.funder) == items
    assert set(f.setting.values()) == set(SETTINGS)
    assert f.setting["primary_care.medication_item"] == "prescribing"
    assert f.setting["hospital.emergency_spell"] == "acute"
    assert f.funder["social_care.residential_week"] == "local_authority"
    assert f.funder["social_care.reablement_episode"] == "pooled"
    assert f.items("community", "pooled") == {"community.rapid_response"}


def test_funding_override_section_then_item(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(
        '[funder]\nsocial_care = "pooled"\n"social_care.nursing_week" = "nhs"\n'
        '[setting]\ncommunity.falls = "acute"\n'
    )
    funding = load_funding(f)
    assert funding.funder["social_care.nursing_week"] == "nhs"
    assert funding.funder["social_care.reablement_episode"] == "pooled"
    assert funding.funder["social_care.assessment"] == "pooled"
    assert funding.setting["community.falls"] == "acute"
    assert funding.setting["community.district_nursing"] == "community"
    # the cost part of the same file still loads
    assert load_tariff(f) == default_tariff()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[funder]\nhospitl = "nhs"\n', r"\[funder\] hospitl: unknown tariff section"),
        ('[funder]\n"hospital.ae" = "nhs"\n', r"\[funder\] hospital.ae: unknown tariff item"),
        ('[funder]\nhospital = "council"\n', r"\[funder\] hospital: expected one of nhs"),
        ('[setting]\nhospital = "hospital"\n', r"\[setting\] hospital: expected one of acute"),
        ('funder = "nhs"\n', "expected a \\[funder\\] table"),
    ],
)
def test_bad_funding_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        load_funding(f)
    assert str(f) in str(e.value)
