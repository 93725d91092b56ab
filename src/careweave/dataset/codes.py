"""Syntax checks for the clinical code systems the canonical dataset carries.

These say whether a code is well formed, not whether it exists in a release
of its terminology: the loader quarantines malformed codes, and code lists
(the registers, HFRS, Charlson, ...) decide what a well-formed code means.

- SNOMED CT (and dm+d, which uses SNOMED identifiers): 6-18 digits, no leading
  zero, the last digit a Verhoeff check digit over the rest, and a partition
  identifier (the two digits before the check digit) that is one of the
  published ones.
- ICD-10: a letter, two digits, then optionally a dot and up to two more
  characters (WHO/UK 4th and 5th characters, e.g. ``J44.1``, ``J441``,
  ``M80.08``, ``I10X`` with the UK filler X, ``U07.1``); daggers and asterisks
  stripped by the loader.
- LOINC: digits, a hyphen and a mod-10 check digit (e.g. ``4548-4``).
- RxNorm: a positive integer.
"""

from __future__ import annotations

import re

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

# SNOMED CT partition identifiers: 00-05 international concept/description/
# relationship (short and long format), 10-15 extension equivalents.
_SNOMED_PARTITIONS = frozenset({"00", "01", "02", "10", "11", "12"})
_SNOMED_RE = re.compile(r"[1-9][0-9]{5,17}")
_ICD10_RE = re.compile(r"[A-Z][0-9]{2}(\.?[0-9A-Z]{1,2})?")
_LOINC_RE = re.compile(r"([0-9]{1,7})-([0-9])")
_RXNORM_RE = re.compile(r"[1-9][0-9]{0,9}")


def verhoeff_check_digit(digits: str) -> int:
    """The Verhoeff check digit to append to ``digits``."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[(i + 1) % 8][int(ch)]]
    return _VERHOEFF_INV[c]


def verhoeff_valid(number: str) -> bool:
    """True when the last digit of ``number`` is its Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def is_snomed(code: str) -> bool:
    """A well-formed SNOMED CT identifier (concept, description or relationship id)."""
    return (
        _SNOMED_RE.fullmatch(code) is not None
        and code[-3:-1] in _SNOMED_PARTITIONS
        and verhoeff_valid(code)
    )


def normalise_icd10(code: str) -> str:
    """Upper case, daggers/asterisks and surrounding space removed."""
    return code.strip().upper().rstrip("*+†").strip()


def is_icd10(code: str) -> bool:
    """A well-formed ICD-10 code (after :func:`normalise_icd10`)."""
    return _ICD10_RE.fullmatch(normalise_icd10(code)) is not None


def icd10_three_char(code: str) -> str:
    """The three-character category of an ICD-10 code (``J44.1`` -> ``J44``)."""
    return normalise_icd10(code)[:3]


def loinc_check_digit(body: str) -> int:
    """LOINC's mod-10 check digit for the part before the hyphen."""
    digits = [int(d) for d in reversed(body)]
    total = 0
    for i, d in enumerate(digits):
        if i % 2 == 0:
            d *= 2
            d = d // 10 + d % 10
        total += d
    return (10 - total % 10) % 10


def is_loinc(code: str) -> bool:
    """A well-formed LOINC code with a correct check digit."""
    m = _LOINC_RE.fullmatch(code)
    return m is not None and loinc_check_digit(m.group(1)) == int(m.group(2))


def is_rxnorm(code: str) -> bool:
    return _RXNORM_RE.fullmatch(code) is not None


def is_valid_code(system: str, code: str) -> bool:
    """True when ``code`` is well formed for ``system`` (``other`` accepts any non-empty code)."""
    if not code:
        return False
    if system in ("snomed", "dmd"):
        return is_snomed(code)
    if system == "icd10":
        return is_icd10(code)
    if system == "loinc":
        return is_loinc(code)
    if system == "rxnorm":
        return is_rxnorm(code)
    return system == "other"
