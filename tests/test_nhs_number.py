import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from careweave.dataset import nhs_number as nhs


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000018"])
def test_known_valid_numbers(number: str) -> None:
    assert nhs.is_valid(number)


@pytest.mark.parametrize("number", ["9434765918", "943476591", "94347659190", "943476591X", ""])
def test_invalid_numbers(number: str) -> None:
    assert not nhs.is_valid(number)


def test_stem_with_check_ten_is_never_valid() -> None:
    # 000000010: weights give 1*2 = 2 -> 11 - 2 = 9; find a stem whose check is 10.
    stem = next(f"{i:09d}" for i in range(1000) if nhs.check_digit(f"{i:09d}") is None)
    assert all(not nhs.is_valid(stem + str(d)) for d in range(10))


@given(st.integers(min_value=0, max_value=999_999_999))
def test_vectorised_check_digit_matches_scalar(stem: int) -> None:
    scalar = nhs.check_digit(f"{stem:09d}")
    vector = int(nhs.check_digits(np.array([stem], dtype=np.int64))[0])
    assert vector == (-1 if scalar is None else scalar)


def test_synthetic_numbers_are_valid_distinct_and_in_range() -> None:
    numbers = nhs.synthetic_numbers(5000)
    assert len(set(numbers)) == 5000
    assert all(nhs.is_valid(n) and n.startswith("999") for n in numbers)
    assert all(int(n[:9]) < 999_900_000 for n in numbers)  # the 999 test range first
    assert all(nhs.in_ranges(int(n[:9]), nhs.SYNTHETIC_RANGES) for n in numbers)


def test_synthetic_numbers_reach_national_scale_outside_issued_ranges() -> None:
    numbers = nhs.synthetic_number_ints(1_000_000)
    assert len(numbers) == len(set(numbers.tolist())) == 1_000_000
    stems = numbers // 10
    # Beyond the 999 range only stems starting 990-998: never issued in the UK.
    assert ((stems >= 990_000_000) & (stems < 999_900_000)).all()
    sample = [str(n) for n in numbers[::997]]
    assert all(nhs.is_valid(n) for n in sample)
    assert not set(sample) & set(nhs.surrogate_for(str(i), set()) for i in range(200))


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=200))
def test_surrogates_are_valid_deterministic_and_never_repeat(ids: list[str]) -> None:
    taken: set[str] = set()
    out = {}
    for source_id in ids:
        if source_id in out:
            continue
        n = nhs.surrogate_for(source_id, taken)
        taken.add(n)
        out[source_id] = n
        assert nhs.is_valid(n)
        assert nhs.in_ranges(int(n[:9]), nhs.SURROGATE_RANGES)
        assert not nhs.in_ranges(int(n[:9]), nhs.SYNTHETIC_RANGES)
    assert len(set(out.values())) == len(out)
    # Deterministic: the first id always gets the same number from an empty register.
    assert nhs.surrogate_for(ids[0], set()) == out[ids[0]]
