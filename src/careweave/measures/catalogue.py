"""The KPI catalogue: ``data/catalogue.toml`` read, expanded and checked.

Each KPI names its numerator and denominator as *quantities* of the sources
in :mod:`careweave.measures.sources`: an events source by name (the sum of its
values), an intervals source as ``name.stock`` (people counting on the
interval's last day), ``name.days``, ``name.years`` (days / 365.25) or
``name.weeks`` (days / 7). Templates are expanded once per register.

Reading the catalogue does not import the sources (they are Ibis definitions, and Ibis
takes about 0.4 s to import): a quantity's kind follows from its text (no suffix: an
events source; ``.stock``, ``.days``, ``.years`` or ``.weeks``: an intervals source),
so the pages and the commissioner's pack, which only read computed results, never load
Ibis. :func:`check` holds every quantity to the sources (a known source of that kind);
:func:`careweave.measures.compute.compute` calls it before computing anything, and a
test holds the shipped catalogue to it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from careweave.dataset.registers import load_registers
from careweave.errors import InputError

KINDS = ("proportion", "rate", "mean", "count")
DIRECTIONS = ("higher", "lower", "neither")
QUANTITIES = ("stock", "days", "years", "weeks")


@dataclass(frozen=True)
class Quantity:
    source: str
    what: str  # "events" | "stock" | "days" | "years" | "weeks"

    @classmethod
    def parse(cls, text: str, where: str) -> Quantity:
        """``name`` (an events source) or ``name.stock|days|years|weeks`` (an intervals
        source); whether ``name`` is such a source is :func:`check`'s business."""
        name, dot, what = text.partition(".")
        if not name:
            raise ValueError(f"{where}: a quantity without a source name ({text!r})")
        if not dot:
            return cls(name, "events")
        if what not in QUANTITIES:
            raise ValueError(
                f"{where}: {text!r}: an intervals source's quantity is "
                f"{name}.stock|days|years|weeks"
            )
        return cls(name, what)

    def check(self, where: str) -> None:
        """ValueError unless the source exists and is of the kind the quantity says."""
        from careweave.measures.sources import SOURCES

        src = SOURCES.get(self.source)
        if src is None:
            raise ValueError(f"{where}: unknown source {self.source!r}")
        if src.kind == "events" and self.what != "events":
            raise ValueError(f"{where}: {self.source} is an events source: no .{self.what}")
        if src.kind != "events" and self.what == "events":
            raise ValueError(
                f"{where}: {self.source} is an intervals source: "
                f"say {self.source}.stock|days|years|weeks"
            )

    @property
    def is_count(self) -> bool:
        """A count of people or events (disclosure control suppresses it), not days or money."""
        return self.what in ("events", "stock")


@dataclass(frozen=True)
class Kpi:
    name: str
    title: str
    definition: str
    numerator: tuple[Quantity, ...]
    denominator: tuple[Quantity, ...]
    kind: str
    per: float
    unit: str
    direction: str
    source: str
    year: str
    reference: float | None
    reference_source: str | None
    numerator_min_age: int
    denominator_min_age: int
    standardise: bool
    numerator_scale: float
    version: str

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(q.source for q in (*self.numerator, *self.denominator)))

    @property
    def requires(self) -> tuple[str, ...]:
        """What the KPI's sources need (``table``, ``table.column``, ``a|b``)."""
        from careweave.measures.sources import SOURCES

        out: list[str] = []
        for s in self.sources:
            out += [r for r in SOURCES[s].requires if r not in out]
        return tuple(out)


@dataclass(frozen=True)
class Catalogue:
    version: str
    kpis: dict[str, Kpi]


def _quantities(value: Any, where: str) -> tuple[Quantity, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(Quantity.parse(str(v), where) for v in items)


def _kpi(raw: dict[str, Any], version: str) -> Kpi:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("catalogue: a [[kpi]] without a name")
    where = f"catalogue: {name}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if raw.get("direction") not in DIRECTIONS:
        raise ValueError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    num = _quantities(raw.get("numerator"), where)
    den = _quantities(raw.get("denominator"), where)
    if not num:
        raise ValueError(f"{where}: no numerator")
    if kind != "count" and not den:
        raise ValueError(f"{where}: a {kind} needs a denominator")
    if kind == "rate" and any(q.what != "years" for q in den):
        raise ValueError(f"{where}: a rate's denominator is person-time (<source>.years)")
    for field in ("title", "definition", "unit", "source", "year"):
        if not raw.get(field):
            raise ValueError(f"{where}: missing {field}")
    min_age = int(raw.get("min_age", 0))
    ref = raw.get("reference")
    text = repr(sorted(raw.items()))
    return Kpi(
        name=name,
        title=str(raw["title"]),
        definition=str(raw["definition"]),
        numerator=num,
        denominator=den,
        kind=str(kind),
        per=float(raw.get("per", 1)),
        unit=str(raw["unit"]),
        direction=str(raw["direction"]),
        source=str(raw["source"]),
        year=str(raw["year"]),
        reference=None if ref in (None, "") else float(ref),
        reference_source=raw.get("reference_source"),
        numerator_min_age=int(raw.get("numerator_min_age", min_age)),
        denominator_min_age=int(raw.get("denominator_min_age", min_age)),
        standardise=bool(raw.get("standardise", False)),
        numerator_scale=float(raw.get("numerator_scale", 1.0)),
        version=f"{version}+{hashlib.sha256(text.encode()).hexdigest()[:8]}",
    )


def _expand(template: dict[str, Any]) -> list[dict[str, Any]]:
    if template.get("for_each") != "register":
        raise ValueError('catalogue: a [[template]] needs for_each = "register"')
    out = []
    for r in load_registers():
        values = {
            "register": r.name,
            "label": r.label,
            "register_min_age": str(r.register_min_age),
            "denominator_min_age": str(r.denominator_min_age),
            "reference": "" if not r.reference_prevalence else str(r.reference_prevalence),
        }
        item = {}
        for k, v in template.items():
            if k == "for_each":
                continue
            item[k] = v.format(**values) if isinstance(v, str) else v
        out.append(item)
    return out


def parse_catalogue(text: str) -> Catalogue:
    raw = tomllib.loads(text)
    version = str(raw.get("version", "0"))
    items = list(raw.get("kpi", []))
    for t in raw.get("template", []):
        items += _expand(t)
    kpis: dict[str, Kpi] = {}
    for item in items:
        k = _kpi(item, version)
        if k.name in kpis:
            raise ValueError(f"catalogue: {k.name} defined twice")
        kpis[k.name] = k
    return Catalogue(version, kpis)


def check(kpis: Iterable[Kpi]) -> None:
    """ValueError naming the KPI unless each of its quantities is a known source of the
    kind it says (imports the sources, so Ibis)."""
    for k in kpis:
        for q in (*k.numerator, *k.denominator):
            q.check(f"catalogue: {k.name}")


@cache
def load_catalogue() -> Catalogue:
    text = resources.files("careweave.measures").joinpath("data/catalogue.toml").read_text()
    return parse_catalogue(text)


def select(names: list[str] | None) -> list[Kpi]:
    """The named KPIs (all when None); InputError naming an unknown one."""
    cat = load_catalogue().kpis
    if not names:
        return list(cat.values())
    for n in names:
        if n not in cat:
            raise InputError(f"--kpi: unknown KPI {n!r} (the catalogue: docs/measures.md)")
    return [cat[n] for n in dict.fromkeys(names)]
