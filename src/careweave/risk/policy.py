"""The tier policy: CCM levels, risk bands and the re-admitter flag as rules in TOML.

The shipped default is ``careweave/risk/policy.toml``; ``--policy FILE``
replaces it with the user's. A file is validated when read: every problem is
an InputError naming the file and the field (``levels[2].when[0]``) and saying
what is wrong, before anyone is scored.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careweave.errors import InputError
from careweave.risk import features

OPS = (">=", "<=", "!=", ">", "<", "=")
CATEGORICAL = {
    "sex": ("female", "male", "other", "unknown"),
    "frailty_category": ("fit", "mild", "moderate", "severe", "unknown"),
    "hfrs_category": ("low", "intermediate", "high"),
    "efi_category": ("fit", "mild", "moderate", "severe"),
}
EXTRA_NUMERIC = ("risk_score", "probability", "percentile")
_TOP = re.compile(r"^top\s+([0-9]*\.?[0-9]+)\s*%$")
_CLAUSE = re.compile(r"^([a-z][a-z0-9_ ]*?)\s*(>=|<=|!=|>|<|=)\s*(\S+)$")


def numeric_fields() -> tuple[str, ...]:
    return (*features.feature_columns(), *EXTRA_NUMERIC)


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: float | str

    def holds(self, frame: pd.DataFrame) -> Any:
        col = frame[self.field]
        v = self.value
        if self.op == "=":
            return col == v
        if self.op == "!=":
            return col != v
        return {">": col > v, ">=": col >= v, "<": col < v, "<=": col <= v}[self.op]


@dataclass(frozen=True)
class Rule:
    """``everyone``, ``top X%``, or clauses that must all hold."""

    text: str
    top_percent: float | None = None
    clauses: tuple[Clause, ...] = ()
    everyone: bool = False

    def holds(self, frame: pd.DataFrame) -> Any:
        n = len(frame)
        if self.everyone:
            return np.ones(n, dtype=bool)
        if self.top_percent is not None:
            return (frame["top_rank"] <= math.ceil(n * self.top_percent / 100)).to_numpy()
        out = np.ones(n, dtype=bool)
        for c in self.clauses:
            out &= np.asarray(c.holds(frame), dtype=bool)
        return out


def parse_rule(text: Any, where: str) -> Rule:
    """Parse one rule; InputError naming ``where`` when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: expected a rule (text), got {text!r}")
    t = " ".join(text.strip().lower().split())
    if t == "everyone":
        return Rule(text, everyone=True)
    m = _TOP.match(t)
    if m:
        pct = float(m.group(1))
        if not 0 < pct <= 100:
            raise InputError(f"{where}: 'top X%' needs 0 < X <= 100, got {pct:g}")
        return Rule(text, top_percent=pct)
    clauses = []
    for part in t.split(" and "):
        cm = _CLAUSE.match(part.strip())
        if not cm:
            raise InputError(
                f"{where}: cannot read {part.strip()!r}: expected 'everyone', 'top X%' or "
                f"'FIELD OP VALUE' (OP one of {' '.join(OPS)}) joined by 'and'"
            )
        name, op, raw = cm.group(1).strip().replace(" ", "_"), cm.group(2), cm.group(3)
        if name in CATEGORICAL:
            if op not in ("=", "!="):
                raise InputError(f"{where}: {name} is a category: use = or !=, not {op}")
            if raw not in CATEGORICAL[name]:
                raise InputError(
                    f"{where}: {name} has no value {raw!r} (known: {', '.join(CATEGORICAL[name])})"
                )
            clauses.append(Clause(name, op, raw))
            continue
        if name not in numeric_fields():
            known = ", ".join([*numeric_fields(), *CATEGORICAL])
            raise InputError(f"{where}: unknown field {name!r} (known: {known})")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{where}: {name} needs a number, got {raw!r}") from None
        clauses.append(Clause(name, op, value))
    return Rule(text, clauses=tuple(clauses))


def _rules(entry: dict[str, Any], where: str) -> tuple[Rule, ...]:
    when = entry.get("when")
    if not isinstance(when, list) or not when:
        raise InputError(f"{where}.when: expected a non-empty list of rules")
    return tuple(parse_rule(r, f"{where}.when[{i}]") for i, r in enumerate(when))


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Band:
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Policy:
    source: str
    levels: tuple[Level, ...]  # highest first
    bands: tuple[Band, ...]
    readmitter: tuple[Rule, ...]

    def level_of(self, frame: pd.DataFrame) -> Any:
        out = np.full(len(frame), min(lv.level for lv in self.levels), dtype=np.int16)
        done = np.zeros(len(frame), dtype=bool)
        for lv in self.levels:
            hit = _any(lv.rules, frame) & ~done
            out[hit] = lv.level
            done |= hit
        return out

    def band_of(self, frame: pd.DataFrame) -> Any:
        out = np.full(len(frame), self.bands[-1].name, dtype=object)
        done = np.zeros(len(frame), dtype=bool)
        for b in self.bands:
            hit = _any(b.rules, frame) & ~done
            out[hit] = b.name
            done |= hit
        return out

    def readmitter_of(self, frame: pd.DataFrame) -> Any:
        return _any(self.readmitter, frame)

    def level_names(self) -> dict[int, str]:
        return {lv.level: lv.name for lv in self.levels}


def _any(rules: tuple[Rule, ...], frame: pd.DataFrame) -> Any:
    out = np.zeros(len(frame), dtype=bool)
    for r in rules:
        out |= r.holds(frame)
    return out


def parse(raw: dict[str, Any], source: str) -> Policy:
    """Validate a parsed TOML policy; InputError naming ``source`` and the field."""
    levels_raw = raw.get("levels")
    if not isinstance(levels_raw, list) or not levels_raw:
        raise InputError(f"{source}: levels: expected [[levels]] tables for levels 1-4")
    levels = []
    for i, entry in enumerate(levels_raw):
        where = f"{source}: levels[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a table")
        lv = entry.get("level")
        if isinstance(lv, bool) or lv not in (1, 2, 3, 4):
            raise InputError(f"{where}.level: expected 1, 2, 3 or 4, got {lv!r}")
        name = entry.get("name", f"level {lv}")
        if not isinstance(name, str):
            raise InputError(f"{where}.name: expected text, got {name!r}")
        unknown = set(entry) - {"level", "name", "when"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        levels.append(Level(lv, name, _rules(entry, where)))
    seen = sorted(lv.level for lv in levels)
    if seen != [1, 2, 3, 4]:
        raise InputError(f"{source}: levels: need each of levels 1-4 exactly once, got {seen}")
    bands = []
    for i, entry in enumerate(raw.get("bands", [])):
        where = f"{source}: bands[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{where}.name: expected a band name (text)")
        bands.append(Band(entry["name"], _rules(entry, where)))
    if not bands:
        raise InputError(f"{source}: bands: expected at least one [[bands]] table")
    readm = raw.get("readmitter")
    if not isinstance(readm, dict):
        raise InputError(f"{source}: readmitter: expected a [readmitter] table with `when`")
    unknown_top = set(raw) - {"levels", "bands", "readmitter"}
    if unknown_top:
        raise InputError(f"{source}: unknown field(s) {', '.join(sorted(unknown_top))}")
    return Policy(
        source,
        tuple(sorted(levels, key=lambda lv: -lv.level)),
        tuple(bands),
        _rules(readm, f"{source}: readmitter"),
    )


def load_policy(path: Path | None = None) -> Policy:
    """The shipped default policy, or the file at ``path`` instead of it."""
    if path is None:
        text = resources.files("careweave.risk").joinpath("policy.toml").read_text()
        return parse(tomllib.loads(text), "policy.toml (default)")
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise InputError(f"{path}: cannot read policy ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML ({e})") from None
    return parse(raw, str(path))
