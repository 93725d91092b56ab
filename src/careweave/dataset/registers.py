"""Disease registers (QOF-style): which codes put a person on which register.

The definitions live in ``careweave/dataset/data/registers.csv`` with their
sources; the synthetic generator, ``careweave profile`` and the risk engine all
read them from here, so a register means the same thing everywhere.

A person is on register ``r`` at a reference date when they are at least
``register_min_age`` years old and either a primary-care event with one of
``snomed_codes`` was recorded on or before that date (and not resolved by
then), or the ``observation_rule`` holds (e.g. ``bmi>=30 within 365``: a BMI
of 30 or more recorded in the 365 days up to the date). Prevalence is the
fraction of people alive and registered at the date, aged at least
``denominator_min_age``, who are on the register. ``icd10_codes`` are ICD-10
prefixes (compared without the dot) for the same condition in hospital data.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from careweave.dataset.codes import is_icd10, is_snomed

_RULE_RE = re.compile(r"([a-z_]+)\s*(>=|<=|>|<)\s*([0-9.]+)\s+within\s+([0-9]+)")


@dataclass(frozen=True)
class ObservationRule:
    """``measure op value within days``: an observation that puts a person on a register."""

    measure: str
    op: str
    value: float
    within_days: int


@dataclass(frozen=True)
class Register:
    name: str
    label: str
    snomed_codes: tuple[str, ...]
    icd10_codes: tuple[str, ...]
    register_min_age: int
    denominator_min_age: int
    observation_rule: ObservationRule | None
    reference_prevalence: float
    source: str


def _parse_rule(text: str) -> ObservationRule | None:
    text = text.strip()
    if not text:
        return None
    m = _RULE_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"registers.csv: bad observation_rule {text!r}")
    return ObservationRule(m.group(1), m.group(2), float(m.group(3)), int(m.group(4)))


def parse_registers(text: str) -> tuple[Register, ...]:
    """Parse the registers CSV (lines starting ``#`` are comments)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    out: list[Register] = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        snomed = tuple(row["snomed_codes"].split())
        icd10 = tuple(row["icd10_codes"].split())
        for code in snomed:
            if not is_snomed(code):
                raise ValueError(f"registers.csv: {row['register']}: bad SNOMED CT id {code}")
        for prefix in icd10:
            if not (len(prefix) < 3 or is_icd10(prefix)):
                raise ValueError(f"registers.csv: {row['register']}: bad ICD-10 prefix {prefix}")
        out.append(
            Register(
                name=row["register"],
                label=row["label"],
                snomed_codes=snomed,
                icd10_codes=icd10,
                register_min_age=int(row["register_min_age"]),
                denominator_min_age=int(row["denominator_min_age"]),
                observation_rule=_parse_rule(row["observation_rule"]),
                reference_prevalence=float(row["reference_prevalence"]),
                source=row["source"],
            )
        )
    return tuple(out)


@cache
def load_registers() -> tuple[Register, ...]:
    """The shipped register definitions, in file order."""
    text = resources.files("careweave.dataset").joinpath("data/registers.csv").read_text()
    return parse_registers(text)


def register(name: str) -> Register:
    """The register called ``name``; KeyError naming the known ones if none."""
    for r in load_registers():
        if r.name == name:
            return r
    known = ", ".join(r.name for r in load_registers())
    raise KeyError(f"no register {name!r} (known: {known})")


def icd10_matches(register_: Register, code: str) -> bool:
    """True when ICD-10 ``code`` (with or without its dot) falls under the register."""
    flat = code.replace(".", "").strip().upper()
    return any(flat.startswith(p) for p in register_.icd10_codes)
