"""The budget file: a pooled fund's partners, the schemes it funds and their targets (TOML).

Read with :func:`load_budget`; validated with pydantic, and every problem is one
line naming the file and the field, e.g.
``budget.toml: scheme[LTC1].kpi[care_home_residents_with_care_plan_share].target:
a proportion is a fraction from 0 to 1 (0.95 = 95%)`` (an
:class:`careweave.errors.InputError`: exit 2 from the CLI). The shipped example,
``data/ltc_example.toml``, encodes seed 004's long-term-conditions scheme and
documents every field in its comments; docs/budgets.md describes them too.

- ``name``, ``year_start`` (``"2025-04"``: the first month of the 12-month
  budget year), optional ``description``.
- ``[[partner]]``: ``id``, ``name``, ``kind`` (``nhs`` | ``local_authority`` |
  ``other``), ``contribution`` (pounds for the year).
- ``[[scheme]]``: ``id``, ``name``, ``allocation`` (pounds), ``funded_by``
  (partner id -> pounds; adds up to the allocation; each partner's shares over
  all schemes at most its contribution), ``population`` (``area`` = ``board`` |
  ``locality:<org id>`` | ``practice:<org id>``, optionally ``ccm_level`` 1-4 or
  ``segment``), optionally ``spend_settings`` (the settings of care whose costed
  activity counts as the scheme's spend: acute, community, primary_care,
  prescribing, mental_health, social_care; all when absent), ``baseline``
  (``from``/``to`` months, before the year), and
  ``[[scheme.kpi]]``.
- ``[[scheme.kpi]]``: ``id`` (a KPI of the measures catalogue), ``target`` (the
  value at the year's end, in the KPI's unit: fractions for proportions) or
  ``target_change`` (relative to the baseline: 0.30 = up 30%), or
  ``monitor_only = true`` (no numeric target: charted, no trajectory or
  assurance); optionally ``baseline_value`` (else computed from the measures over
  the baseline period), ``baseline`` (this KPI's own period), ``trajectory``
  (month -> value for the months the plan fixes; the months between are linear,
  see :mod:`careweave.budgets.trajectory`) and ``note``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from careweave.dataset.tariff import SETTINGS
from careweave.errors import InputError
from careweave.measures.catalogue import load_catalogue

#: The shipped example budget (seed 004's long-term-conditions scheme).
EXAMPLE = "ltc_example.toml"
#: Pounds: allowed rounding when shares are added up.
PENNY = 0.01
MONTHS = 12


def example_path() -> Path:
    """The shipped example budget file."""
    return Path(str(resources.files("careweave.budgets").joinpath(f"data/{EXAMPLE}")))


def _month(value: Any) -> dt.date:
    """A month as its first day, from ``"2025-04"``, ``"2025-04-01"`` or a TOML date."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.day != 1:
            raise ValueError("a month is its first day or YYYY-MM")
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            day = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise ValueError(f"{value!r} is not a month (YYYY-MM)") from None
        if day.day != 1:
            raise ValueError(f"{value!r}: a month is YYYY-MM")
        return day
    raise ValueError("a month is written YYYY-MM")


Month = Annotated[dt.date, BeforeValidator(_month)]
Id = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Partner(_Model):
    id: Id
    name: str = Field(min_length=1)
    kind: Literal["nhs", "local_authority", "other"]
    contribution: float = Field(ge=0, allow_inf_nan=False)


class Population(_Model):
    area: str = "board"
    ccm_level: int | None = Field(default=None, ge=1, le=4)
    segment: str | None = Field(default=None, min_length=1)

    @field_validator("area")
    @classmethod
    def _area(cls, v: str) -> str:
        if v == "board":
            return v
        by, sep, code = v.partition(":")
        if by not in ("locality", "practice") or not sep or not code.strip():
            raise ValueError("say board, locality:<org id> or practice:<org id>")
        return f"{by}:{code.strip()}"

    @property
    def area_by(self) -> str:
        return "all" if self.area == "board" else self.area.partition(":")[0]

    @property
    def area_value(self) -> str:
        return "all" if self.area == "board" else self.area.partition(":")[2]

    def words(self) -> str:
        area = "the whole board" if self.area == "board" else self.area.replace(":", " ")
        if self.ccm_level is not None:
            return f"{area}, CCM level {self.ccm_level}"
        if self.segment is not None:
            return f"{area}, segment {self.segment}"
        return area


class Period(_Model):
    start: Month = Field(alias="from")
    end: Month = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _order(cls, v: dt.date, info: Any) -> dt.date:
        start = info.data.get("start")
        if start is not None and v < start:
            raise ValueError("the baseline ends before it starts")
        return v


class SchemeKpi(_Model):
    id: str
    target: float | None = Field(default=None, allow_inf_nan=False)
    target_change: float | None = Field(default=None, gt=-1, allow_inf_nan=False)
    monitor_only: bool = False
    baseline_value: float | None = Field(default=None, allow_inf_nan=False)
    baseline: Period | None = None
    trajectory: dict[str, float] | None = None
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in load_catalogue().kpis:
            raise ValueError(f"{v!r} is not a KPI of the measures catalogue (docs/measures.md)")
        return v

    @property
    def kind(self) -> str:
        return load_catalogue().kpis[self.id].kind


class Scheme(_Model):
    id: Id
    name: str = Field(min_length=1)
    description: str | None = None
    allocation: float = Field(ge=0, allow_inf_nan=False)
    funded_by: dict[str, float] = Field(default_factory=dict)
    population: Population = Field(default_factory=lambda: Population())
    spend_settings: list[str] = Field(default_factory=list)
    baseline: Period
    kpi: list[SchemeKpi] = Field(default_factory=list)

    @field_validator("spend_settings")
    @classmethod
    def _settings(cls, v: list[str]) -> list[str]:
        for x in v:
            if x not in SETTINGS:
                raise ValueError(f"{x!r} is not a setting (choose from {', '.join(SETTINGS)})")
        if len(set(v)) != len(v):
            raise ValueError("a setting is listed twice")
        return v

    @field_validator("funded_by")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not x >= 0 or x == float("inf"):
                raise ValueError(f"{k}: a share is a number of pounds, 0 or more")
        return v


class Budget(_Model):
    name: str = Field(min_length=1)
    description: str | None = None
    year_start: Month
    partner: list[Partner] = Field(min_length=1)
    scheme: list[Scheme] = Field(min_length=1)

    @property
    def year_end(self) -> dt.date:
        """The first day of the budget year's last month."""
        return add_months(self.year_start, MONTHS - 1)

    @property
    def months(self) -> list[dt.date]:
        return [add_months(self.year_start, i) for i in range(MONTHS)]

    def partner_by_id(self) -> dict[str, Partner]:
        return {p.id: p for p in self.partner}


def add_months(day: dt.date, n: int) -> dt.date:
    k = day.year * 12 + day.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """A pydantic location as ``scheme[LTC1].kpi[id].target`` (ids where the file has them)."""
    out: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int):
            label = str(part + 1)
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label = node["id"]
            else:
                node = None
            out[-1:] = [f"{out[-1]}[{label}]"] if out else [f"[{label}]"]
            continue
        out.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out) or "file"


def _message(err: Any) -> str:
    msg = str(err.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err.get("type") == "extra_forbidden":
        return "not a field of a budget file (see docs/budgets.md)"
    if err.get("type") == "missing":
        return "missing (required)"
    return msg


def _check(budget: Budget, fail: Any) -> None:
    """Checks across fields; ``fail(where, message)`` raises."""
    partners = budget.partner_by_id()
    if len(partners) != len(budget.partner):
        dup = next(p.id for p in budget.partner if sum(q.id == p.id for q in budget.partner) > 1)
        fail(f"partner[{dup}].id", "two partners with this id")
    seen: set[str] = set()
    used = dict.fromkeys(partners, 0.0)
    for s in budget.scheme:
        here = f"scheme[{s.id}]"
        if s.id in seen:
            fail(f"{here}.id", "two schemes with this id")
        seen.add(s.id)
        for pid, amount in s.funded_by.items():
            if pid not in partners:
                fail(
                    f"{here}.funded_by.{pid}",
                    f"no partner {pid!r} (partners: {', '.join(partners)})",
                )
            used[pid] += amount
        if s.funded_by and abs(sum(s.funded_by.values()) - s.allocation) > PENNY:
            fail(
                f"{here}.funded_by",
                f"the shares add up to £{sum(s.funded_by.values()):,.2f}, "
                f"not the allocation £{s.allocation:,.2f}",
            )
        if s.population.ccm_level is not None and s.population.segment is not None:
            fail(f"{here}.population", "give a CCM level or a segment, not both")
        if s.baseline.end >= budget.year_start:
            fail(
                f"{here}.baseline.to",
                f"the baseline must end before the year ({budget.year_start:%Y-%m})",
            )
        kpis: set[str] = set()
        for k in s.kpi:
            where = f"{here}.kpi[{k.id}]"
            if k.id in kpis:
                fail(f"{where}.id", "this KPI is listed twice in the scheme")
            kpis.add(k.id)
            _check_kpi(budget, k, where, fail)
    for pid, total in used.items():
        if total > partners[pid].contribution + PENNY:
            fail(
                f"partner[{pid}].contribution",
                f"£{partners[pid].contribution:,.2f} is less than its shares of the schemes "
                f"(£{total:,.2f})",
            )


def _check_kpi(budget: Budget, k: SchemeKpi, where: str, fail: Any) -> None:
    given = [n for n in ("target", "target_change") if getattr(k, n) is not None]
    if k.monitor_only:
        if given or k.trajectory:
            fail(f"{where}.monitor_only", "a KPI only monitored has no target or trajectory")
    elif len(given) != 1:
        fail(
            f"{where}.target",
            "give a target or a target_change (not both), or monitor_only = true"
            if not given
            else "give a target or a target_change, not both",
        )
    proportion = k.kind == "proportion"
    for name in ("target", "baseline_value"):
        v = getattr(k, name)
        if proportion and v is not None and not 0 <= v <= 1:
            fail(f"{where}.{name}", "a proportion is a fraction from 0 to 1 (0.95 = 95%)")
    if k.baseline is not None and k.baseline.end >= budget.year_start:
        fail(
            f"{where}.baseline.to",
            f"the baseline must end before the year ({budget.year_start:%Y-%m})",
        )
    months = set(budget.months)
    for text, v in (k.trajectory or {}).items():
        try:
            month = _month(text)
        except ValueError as e:
            fail(f"{where}.trajectory.{text}", str(e))
        if month not in months:
            fail(
                f"{where}.trajectory.{text}",
                f"not a month of the budget year ({budget.year_start:%Y-%m} to "
                f"{budget.year_end:%Y-%m})",
            )
        if proportion and not 0 <= v <= 1:
            fail(f"{where}.trajectory.{text}", "a proportion is a fraction from 0 to 1")


def parse_budget(text: str, source: str) -> Budget:
    """The budget in ``text`` (``source`` names it in errors)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{source}: not valid TOML ({e})") from None
    try:
        budget = Budget.model_validate(raw)
    except ValidationError as e:
        errors = e.errors()
        # A misspelt field is also a missing one: name the misspelling first.
        err = next((x for x in errors if x.get("type") == "extra_forbidden"), errors[0])
        raise InputError(f"{source}: {_where(raw, tuple(err['loc']))}: {_message(err)}") from None

    def fail(where: str, message: str) -> None:
        raise InputError(f"{source}: {where}: {message}")

    _check(budget, fail)
    return budget


def load_budget(path: Path | str | None = None) -> Budget:
    """The budget file at ``path`` (the shipped example when None)."""
    path = Path(path) if path is not None else example_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such budget file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the budget file ({e})") from None
    return parse_budget(text, str(path))
