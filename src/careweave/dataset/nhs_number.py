"""NHS numbers: the Modulus-11 check digit, and the ranges Careweave allocates.

An NHS number is ten digits; the tenth is a check digit. Weight the first nine
digits 10, 9, ..., 2, add them up, take the remainder after dividing by 11 and
subtract it from 11: 11 becomes 0, and a stem whose check would be 10 is never
issued (NHS Data Dictionary, "NHS Number").

Numbers starting 999 are never issued to real people (NHS Digital keeps them for
testing), but the 999 range holds only about 909,000 valid numbers, and a
national-scale synthetic population needs more. Careweave therefore allocates
from the 999 range first and then from stems starting 980-998, which lie
outside every range issued to people: England, Wales and the Isle of Man issue
3xx, 400-499 and 600-799 million; Scotland's CHI numbers are 010-311 million
and Northern Ireland's 320-399 million. Decision recorded here: that is the
price of a 1,000,000-person synthetic board; the loader, the generator and the
importers all use these ranges.

- synthetic population (``SYNTHETIC_RANGES``, in allocation order): stems
  999 000 000 - 999 899 999 (about 818,000 valid numbers), then
  990 000 000 - 998 999 999 (about 8.2 million more);
- importer surrogates for records without an NHS number
  (``SURROGATE_RANGES``): stems 999 900 000 - 999 999 999, then
  980 000 000 - 989 999 999 (about 9.2 million in all).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10..2

#: Half-open ranges of nine-digit stems, in allocation order.
SYNTHETIC_RANGES = ((999_000_000, 999_900_000), (990_000_000, 999_000_000))
SURROGATE_RANGES = ((999_900_000, 1_000_000_000), (980_000_000, 990_000_000))


def in_ranges(stem: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    """True when the nine-digit ``stem`` lies in one of ``ranges``."""
    return any(lo <= stem < hi for lo, hi in ranges)


def capacity(ranges: tuple[tuple[int, int], ...]) -> int:
    """A safe lower bound on the valid numbers in ``ranges`` (10 stems in 11 are valid)."""
    return sum((hi - lo) * 10 // 11 for lo, hi in ranges) - 1000 * len(ranges)


def check_digit(stem: str) -> int | None:
    """The check digit for a nine-digit stem, or None when no valid number has it."""
    if len(stem) != 9 or not stem.isdigit():
        raise ValueError(f"an NHS number stem is nine digits, not {stem!r}")
    total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid(number: str) -> bool:
    """True when ``number`` is ten digits with a correct check digit."""
    if len(number) != 10 or not number.isdigit():
        return False
    return check_digit(number[:9]) == int(number[9])


def check_digits(stems: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Vectorised :func:`check_digit` over nine-digit integer stems; -1 where invalid."""
    digits = (stems[:, None] // (10 ** np.arange(8, -1, -1, dtype=np.int64))) % 10
    check = 11 - (digits @ WEIGHTS) % 11
    check = np.where(check == 11, 0, check)
    return np.where(check == 10, -1, check)


def valid_numbers_from(start: int, count: int) -> npt.NDArray[np.int64]:
    """The first ``count`` valid NHS numbers whose stems are >= ``start``, as integers."""
    out: list[npt.NDArray[np.int64]] = []
    have = 0
    lo = start
    while have < count:
        n = int((count - have) * 1.15) + 16
        stems = np.arange(lo, lo + n, dtype=np.int64)
        checks = check_digits(stems)
        ok = checks >= 0
        out.append(stems[ok] * 10 + checks[ok])
        have += int(ok.sum())
        lo += n
    return np.concatenate(out)[:count]


def synthetic_number_ints(count: int) -> npt.NDArray[np.int64]:
    """``count`` distinct valid synthetic NHS numbers as integers, in allocation order."""
    if count > capacity(SYNTHETIC_RANGES):
        raise ValueError(
            f"the synthetic NHS-number ranges hold about {capacity(SYNTHETIC_RANGES):,} "
            f"numbers, fewer than {count:,}"
        )
    parts: list[npt.NDArray[np.int64]] = []
    left = count
    for lo, hi in SYNTHETIC_RANGES:
        if left == 0:
            break
        take = min(left, (hi - lo) * 10 // 11 - 1000)
        numbers = valid_numbers_from(lo, take)
        parts.append(numbers)
        left -= len(numbers)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def synthetic_numbers(count: int) -> list[str]:
    """``count`` distinct valid numbers from the synthetic ranges, in allocation order."""
    return [str(n) for n in synthetic_number_ints(count)]


def surrogate_for(source_id: str, taken: set[str]) -> str:
    """A deterministic surrogate NHS number for a source identifier.

    The stem is drawn from a hash of ``source_id`` over all of
    :data:`SURROGATE_RANGES`; stems without a valid check digit, or whose number
    is already in ``taken``, move to the next stem (wrapping across the ranges),
    so the result is valid and distinct from everything in ``taken``. The caller
    adds the result to ``taken``.
    """
    sizes = [hi - lo for lo, hi in SURROGATE_RANGES]
    total = sum(sizes)
    digest = int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:8], "big")
    index = digest % total
    for _ in range(total):
        offset = index
        for (lo, _hi), size in zip(SURROGATE_RANGES, sizes, strict=True):
            if offset < size:
                stem = lo + offset
                break
            offset -= size
        check = check_digit(str(stem))
        if check is not None:
            number = f"{stem}{check}"
            if number not in taken:
                return number
        index = (index + 1) % total
    raise ValueError("the surrogate NHS-number ranges are exhausted")
