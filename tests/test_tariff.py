from pathlib import Path

import pytest

from careweave.dataset.tariff import default_tariff, load_tariff
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
