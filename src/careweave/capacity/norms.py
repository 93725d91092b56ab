"""Caseload norms: how many people one whole-time equivalent serves, per staff group.

Shipped in ``data/norms.toml`` (each figure with its ``source``: seed 000 §6.5 for
the core team's 30,000-50,000 people, local assumptions for the caseloads). A board
passes its own file (``careweave capacity --norms FILE``); it replaces the shipped
one whole. Every problem raises :class:`careweave.errors.InputError` naming the file
and the field (``norms.toml: staff.1.people_per_wte: Input should be greater than 0``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from careweave.errors import InputError
from careweave.security.roles import ROLES, TEAM_ROLES

SHIPPED = Path(__file__).parent / "data" / "norms.toml"
LEVELS = (1, 2, 3, 4)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoreTeam(_Strict):
    population_min: int = Field(gt=0)
    population_max: int = Field(gt=0)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> CoreTeam:
        if self.population_min > self.population_max:
            raise ValueError("population_min must not be more than population_max")
        return self


class StaffNorm(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=100)
    levels: list[int] = Field(min_length=1)
    people_per_wte: float = Field(gt=0)
    user_roles: list[str] = []
    team_roles: list[str] = []
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> StaffNorm:
        for lv in self.levels:
            if lv not in LEVELS:
                raise ValueError(f"levels: {lv} is not a CCM level (1 to 4)")
        for r in self.user_roles:
            if r not in ROLES:
                raise ValueError(f"user_roles: {r!r} is not a user role ({', '.join(ROLES)})")
        for r in self.team_roles:
            if r not in TEAM_ROLES:
                raise ValueError(f"team_roles: {r!r} is not a team role ({', '.join(TEAM_ROLES)})")
        return self


class ServiceCapacity(_Strict):
    no_capacity_days: int = Field(default=28, ge=0, le=366)
    capacity: dict[str, int] = {}

    @model_validator(mode="after")
    def _positive(self) -> ServiceCapacity:
        for sid, n in self.capacity.items():
            if n <= 0:
                raise ValueError(f"capacity.{sid}: must be a whole number above 0")
        return self


class Norms(_Strict):
    core_team: CoreTeam
    staff: list[StaffNorm] = Field(min_length=1)
    services: ServiceCapacity = ServiceCapacity()

    @model_validator(mode="after")
    def _unique(self) -> Norms:
        seen: set[str] = set()
        for s in self.staff:
            if s.id in seen:
                raise ValueError(f"staff: id {s.id!r} is given twice")
            seen.add(s.id)
        return self

    def norm(self, staff_id: str) -> StaffNorm | None:
        return next((s for s in self.staff if s.id == staff_id), None)


def parse(data: dict[str, Any], where: str) -> Norms:
    """The norms in ``data`` (a parsed TOML document); ``where`` names it in errors."""
    try:
        return Norms.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(f"{where}: {field}: {msg}") from e


def load(path: Path | str | None = None) -> Norms:
    """The norms file at ``path`` (the shipped one when None), validated."""
    p = Path(path) if path is not None else SHIPPED
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{p}: cannot read the norms file ({e.strerror or e})") from e
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML ({e})") from e
    return parse(data, str(p))


def for_config_dir(config_dir: Path | None) -> tuple[Norms, str]:
    """The norms the pages use: ``norms.toml`` in the care rules' override directory
    (``CAREWEAVE_CONFIG_DIR``) if there is one, else the shipped file; and which it was."""
    if config_dir is not None and (Path(config_dir) / "norms.toml").is_file():
        path = Path(config_dir) / "norms.toml"
        return load(path), str(path)
    return load(), "shipped"
