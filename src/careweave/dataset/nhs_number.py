"""NHS numbers: the Modulus-11 check digit, and the ranges Careweave allocates.

An NHS number is ten digits; the tenth is a check digit. Weight the first nine
digits 10, 9, ..., 2, add them up, take the remainder after dividing by 11 and
subtract it from 11: 11 becomes 0, and a stem whose check would be 10 is never
issued (NHS Data Dictionary, "NHS Number").

Numbers starting 999 are never issued to real people (NHS Digital keeps them for
testing). Careweave allocates only from that range, so nothing it makes up can
be a real person's number:

- synthetic population: stems 999 000 000 – 999 899 999 (``SYNTHETIC``;
  about 818,000 valid numbers, so at most that many synthetic people);
- importer surrogates for records without an NHS number: stems
  999 900 000 – 999 999 999 (``SURROGATE``; about 91,000 valid numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10..2

#: Half-open ranges of nine-digit stems.
SYNTHETIC = (999_000_000, 999_900_000)
SURROGATE = (999_900_000, 1_000_000_000)


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


def synthetic_numbers(count: int) -> list[str]:
    """``count`` distinct valid numbers from the synthetic range, in order."""
    numbers = valid_numbers_from(SYNTHETIC[0], count)
    if count and numbers[-1] // 10 >= SYNTHETIC[1]:
        raise ValueError(f"the synthetic NHS-number range holds fewer than {count:,} numbers")
    return [str(n) for n in numbers]


def surrogate_for(source_id: str, taken: set[str]) -> str:
    """A deterministic surrogate NHS number for a source identifier.

    The stem is drawn from a hash of ``source_id`` within :data:`SURROGATE`;
    stems without a valid check digit, or already in ``taken``, move to the
    next stem, so the result is valid and distinct from everything in ``taken``.
    The caller adds the result to ``taken``.
    """
    lo, hi = SURROGATE
    digest = int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:8], "big")
    stem = lo + digest % (hi - lo)
    for _ in range(hi - lo):
        check = check_digit(str(stem))
        if check is not None:
            number = f"{stem}{check}"
            if number not in taken:
                return number
        stem = lo if stem + 1 >= hi else stem + 1
    raise ValueError("the surrogate NHS-number range is exhausted")
