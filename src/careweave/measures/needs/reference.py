"""The reference prevalence table: read, checked, and looked up per stratum.

A CSV (the shipped ``measures/data/prevalence_reference.csv``, or the user's
``--reference FILE`` / ``CAREWEAVE_NEEDS_REFERENCE``) with ``#`` comment lines,
two of which are required: ``# source: ...`` (where the figures come from) and
``# year: ...``. Columns:

- ``register``: a register key of ``registers.csv`` (e.g. ``diabetes``);
- ``sex``: ``female`` or ``male``;
- ``age_from``, ``age_to``: the band's first and last age (``age_to`` empty: and over);
- ``prevalence``: the fraction of people in the band expected to have the condition (0-1);
- ``deprivation_quintile`` (optional column): 1 (most deprived) .. 5, or empty for
  any quintile;
- any other column (``note``) is kept as text and not used.

Rules, each a one-line error naming the file, the line and the field: every
register named must exist; for each register and sex, the rows for *any*
quintile must cover every age from the register's minimum age up, with no
gaps or overlaps (a table that stops at 84 would silently expect nobody at 85
and over); rows for one quintile may cover part of the ages and then stand in
for the any-quintile row for people of that quintile. A register absent from
the table is not assessed (the outputs say "no reference"). People whose sex
is recorded as other or unknown are given the mean of the female and male
prevalence.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from careweave.dataset.registers import load_registers
from careweave.errors import InputError

SHIPPED = "prevalence_reference.csv"
REQUIRED = ("register", "sex", "age_from", "age_to", "prevalence")
SEXES = ("female", "male")
MAX_AGE = 130


@dataclass(frozen=True)
class Band:
    register: str
    sex: str
    age_from: int
    age_to: int  # inclusive; MAX_AGE for "and over"
    quintile: int  # 0 = any
    prevalence: float
    line: int


@dataclass(frozen=True)
class Reference:
    path: str  # the file's name as given (or the shipped file's)
    source: str
    year: str
    bands: tuple[Band, ...]

    @property
    def registers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.register for b in self.bands))

    def rates(
        self, register: str, sex: np.ndarray, age: np.ndarray, quintile: np.ndarray
    ) -> np.ndarray:
        """The reference prevalence of each stratum (numpy arrays of equal length: sex as
        text, age in whole years, quintile 0 for unknown)."""
        age = np.minimum(np.asarray(age, dtype=np.int64), MAX_AGE)
        quintile = np.asarray(quintile, dtype=np.int64)
        sex = np.asarray(sex, dtype=object)
        by_sex = {s: self._grid(register, s, quintile, age) for s in SEXES}
        mean = (by_sex["female"] + by_sex["male"]) / 2
        return np.where(
            sex == "female", by_sex["female"], np.where(sex == "male", by_sex["male"], mean)
        )

    def _grid(self, register: str, sex: str, quintile: np.ndarray, age: np.ndarray) -> np.ndarray:
        out = np.full(age.shape, np.nan)
        rows = [b for b in self.bands if b.register == register and b.sex == sex]
        for b in sorted(rows, key=lambda b: b.quintile):  # any-quintile first, then overrides
            hit = (age >= b.age_from) & (age <= b.age_to)
            if b.quintile:
                hit &= quintile == b.quintile
            out = np.where(hit, b.prevalence, out)
        filled: np.ndarray = np.nan_to_num(out, nan=0.0)  # below the register's minimum age
        return filled


def _meta(lines: list[str], name: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for text in lines:
        if not text.startswith("#"):
            continue
        key, sep, value = text.lstrip("#").strip().partition(":")
        if sep and key.strip().lower() in ("source", "year") and value.strip():
            meta.setdefault(key.strip().lower(), value.strip())
    for key in ("source", "year"):
        if key not in meta:
            raise InputError(
                f"{name}: no '# {key}: ...' line (say {'where the figures come from' if key == 'source' else 'the year they are for'})"
            )
    return meta


def parse(text: str, name: str) -> Reference:
    """The reference table in ``text`` (``name`` is used in error messages)."""
    lines = text.splitlines()
    meta = _meta(lines, name)
    data = [(i + 1, t) for i, t in enumerate(lines) if t.strip() and not t.startswith("#")]
    if not data:
        raise InputError(f"{name}: no header row and no rows")
    reader = csv.reader(io.StringIO("\n".join(t for _, t in data)))
    rows = list(reader)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{name}: line {data[0][0]}: missing column {missing[0]!r}")
    col = {h: i for i, h in enumerate(header)}
    registers = {r.name: r for r in load_registers()}
    bands: list[Band] = []
    for (line, _), row in zip(data[1:], rows[1:], strict=True):
        where = f"{name}: line {line}"

        def field(c: str, row: list[str] = row) -> str:
            i = col.get(c)
            return row[i].strip() if i is not None and i < len(row) else ""

        reg = field("register")
        if reg not in registers:
            raise InputError(f"{where}: register {reg!r} is not a register (see registers.csv)")
        sex = field("sex")
        if sex not in SEXES:
            raise InputError(f"{where}: sex {sex!r} must be female or male")
        try:
            lo = int(field("age_from"))
            hi = int(field("age_to")) if field("age_to") else MAX_AGE
        except ValueError:
            raise InputError(f"{where}: age_from and age_to must be whole years") from None
        if lo < 0 or hi < lo:
            raise InputError(f"{where}: age_from {lo} to age_to {hi} is not a band of ages")
        try:
            p = float(field("prevalence"))
        except ValueError:
            raise InputError(
                f"{where}: prevalence {field('prevalence')!r} is not a number"
            ) from None
        if not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise InputError(f"{where}: prevalence {p} must be a fraction from 0 to 1")
        q_text = field("deprivation_quintile")
        if q_text and q_text not in ("1", "2", "3", "4", "5"):
            raise InputError(f"{where}: deprivation_quintile {q_text!r} must be 1 to 5 or empty")
        bands.append(Band(reg, sex, lo, hi, int(q_text or 0), p, line))
    if not bands:
        raise InputError(f"{name}: no rows")
    _check_cover(bands, {r: registers[r].register_min_age for r in registers}, name)
    return Reference(name, meta["source"], meta["year"], tuple(bands))


def _check_cover(bands: list[Band], min_age: dict[str, int], name: str) -> None:
    groups: dict[tuple[str, str, int], list[Band]] = {}
    for b in bands:
        groups.setdefault((b.register, b.sex, b.quintile), []).append(b)
    for reg in dict.fromkeys(b.register for b in bands):
        for sex in SEXES:
            if (reg, sex, 0) not in groups:
                first = next(b for b in bands if b.register == reg)
                raise InputError(
                    f"{name}: line {first.line}: register {reg!r} has no rows for {sex} (any quintile)"
                )
    for (reg, sex, q), rows in groups.items():
        rows = sorted(rows, key=lambda b: b.age_from)
        for a, b in itertools.pairwise(rows):
            if b.age_from <= a.age_to:
                raise InputError(
                    f"{name}: line {b.line}: age_from {b.age_from} overlaps the band of line {a.line}"
                )
            if q == 0 and b.age_from > a.age_to + 1:
                raise InputError(
                    f"{name}: line {b.line}: {reg} {sex}: no row for ages {a.age_to + 1} to {b.age_from - 1}"
                )
        if q == 0:
            if rows[0].age_from > min_age[reg]:
                raise InputError(
                    f"{name}: line {rows[0].line}: {reg} {sex}: no row for ages {min_age[reg]} to {rows[0].age_from - 1}"
                )
            if rows[-1].age_to < MAX_AGE:
                raise InputError(
                    f"{name}: line {rows[-1].line}: {reg} {sex}: the last band must be open (empty age_to)"
                )


def load(path: Path | None = None) -> Reference:
    """The user's reference file, or the shipped one."""
    if path is None:
        text = resources.files("careweave.measures").joinpath("data", SHIPPED).read_text("utf-8")
        return parse(text, f"careweave/measures/data/{SHIPPED}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such reference file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the reference file ({e})") from None
    return parse(text, str(path))
