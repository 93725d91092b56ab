"""Care rules as data: assessment templates, routing, telehealth, caseload limits, services.

Shipped defaults live in ``careweave/care/data``. A deployment overrides any of
them by putting a file of the same name (or extra ``assessments/*.toml``
templates) in a directory passed in (``CAREWEAVE_CONFIG_DIR`` in the settings,
careweave.settings). Every
file is validated on load; a problem raises ``InputError`` naming the file and
the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from careweave.errors import InputError
from careweave.security.roles import ROLES, TEAM_ROLES

DATA = Path(__file__).parent / "data"
EVENT_TYPES = (
    "admission",
    "discharge",
    "ae_attendance",
    "death",
    "telehealth_reading",
    "fall_alarm",
    "social_care_package_change",
)
URGENCIES = ("urgent", "routine")
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LEAD = "lead_professional"
SERVICE_PREFIX = "service:"


def _check_roles(roles: list[str], allow_all: bool = False) -> list[str]:
    for r in roles:
        if not (r in TEAM_ROLES or (allow_all and r == "*")):
            raise ValueError(f"{r!r} is not a care-team role ({', '.join(TEAM_ROLES)})")
    return roles


def _check_targets(targets: list[str]) -> list[str]:
    """Routing targets: a care-team role, '*' (the whole team), ``lead_professional``
    (the accountable lead of the open episode) or ``service:<id>`` (that service's staff)."""
    for t in targets:
        if t == LEAD or (t.startswith(SERVICE_PREFIX) and len(t) > len(SERVICE_PREFIX)):
            continue
        if not (t in TEAM_ROLES or t == "*"):
            raise ValueError(
                f"{t!r} is not a care-team role ({', '.join(TEAM_ROLES)}), '*', "
                f"'{LEAD}' or 'service:<id>'"
            )
    return targets


def target_services(targets: list[str]) -> list[str]:
    return [t[len(SERVICE_PREFIX) :] for t in targets if t.startswith(SERVICE_PREFIX)]


class TaskSpec(_Strict):
    """A task a rule raises. Owner: the team member in ``role`` (or the lead professional
    when ``role = "lead_professional"``); while vacant, ``service``'s duty queue; else the
    lead professional; else the routing file's ``unowned_to`` service. Never no one."""

    role: str | None = None
    service: str | None = None
    title: str
    due_hours: float = Field(gt=0)

    @model_validator(mode="after")
    def _role(self) -> TaskSpec:
        if self.role is None and self.service is None:
            raise ValueError("a task needs a 'role' or a 'service' to own it")
        if self.role is not None and self.role != LEAD:
            _check_roles([self.role])
        return self


class RoutingRule(_Strict):
    event: Literal[
        "admission",
        "discharge",
        "ae_attendance",
        "death",
        "telehealth_reading",
        "fall_alarm",
        "social_care_package_change",
    ]
    subject: str
    notify: list[str]
    tasks: list[TaskSpec] = []

    @model_validator(mode="after")
    def _roles(self) -> RoutingRule:
        _check_targets(self.notify)
        return self


class Routing(_Strict):
    # Where a task goes when nobody the rule names can take it: a service's duty queue.
    unowned_to: str = "single-point-of-access"
    rules: list[RoutingRule]

    def services_named(self) -> set[str]:
        out = {self.unowned_to}
        for r in self.rules:
            out |= set(target_services(r.notify))
            out |= {t.service for t in r.tasks if t.service}
        return out

    def for_event(self, event_type: str) -> list[RoutingRule]:
        return [r for r in self.rules if r.event == event_type]


class Measure(_Strict):
    unit: str
    low: float | None = None
    high: float | None = None


class TelehealthRule(_Strict):
    id: str
    title: str
    kind: Literal["out_of_range_days", "rise"]
    measure: str
    window_days: int = Field(ge=1, le=90)
    min_days: int = 1
    amount: float = 0.0
    condition: str | None = None
    notify: list[str]

    @model_validator(mode="after")
    def _roles(self) -> TelehealthRule:
        _check_roles(self.notify)
        if self.kind == "out_of_range_days" and not 1 <= self.min_days <= self.window_days:
            raise ValueError("min_days must be between 1 and window_days")
        if self.kind == "rise" and self.amount <= 0:
            raise ValueError("amount must be > 0 for a 'rise' rule")
        return self


class Telehealth(_Strict):
    measures: dict[str, Measure]
    rules: list[TelehealthRule]

    @model_validator(mode="after")
    def _measures(self) -> Telehealth:
        for r in self.rules:
            if r.measure not in self.measures:
                raise ValueError(f"rule {r.id!r}: measure {r.measure!r} is not declared")
        return self


class Caseload(_Strict):
    warn_fraction: float = Field(gt=0, le=1)
    default: int = Field(gt=0)
    limits: dict[str, int]

    @model_validator(mode="after")
    def _roles(self) -> Caseload:
        for role, n in self.limits.items():
            if role not in ROLES:
                raise ValueError(f"limits.{role}: not a user role ({', '.join(ROLES)})")
            if n <= 0:
                raise ValueError(f"limits.{role}: must be > 0")
        return self

    def limit_for(self, role: str) -> int:
        return self.limits.get(role, self.default)


class Question(_Strict):
    id: str
    text: str
    type: Literal["integer", "number", "boolean", "choice", "text"]
    required: bool = True
    options: list[str] = []
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _options(self) -> Question:
        if self.type == "choice" and not self.options:
            raise ValueError(f"question {self.id!r}: a choice needs options")
        return self


class Trigger(_Strict):
    question: str
    op: Literal["eq", "ne", "gte", "lte", "in"]
    value: Any
    action: Literal["referral", "task", "notify"]
    service: str | None = None
    urgency: Literal["urgent", "routine"] = "routine"
    reason: str | None = None
    role: str | None = None
    roles: list[str] = []
    title: str | None = None
    due_hours: float = 168

    @model_validator(mode="after")
    def _action(self) -> Trigger:
        if self.action == "referral" and not self.service:
            raise ValueError("a referral trigger needs 'service'")
        if self.action == "task" and not (self.role and self.title):
            raise ValueError("a task trigger needs 'role' and 'title'")
        if self.action == "notify" and not (self.roles and self.title):
            raise ValueError("a notify trigger needs 'roles' and 'title'")
        _check_roles([*self.roles, *([self.role] if self.role else [])])
        return self

    def fires(self, answers: dict[str, Any]) -> bool:
        if self.question not in answers or answers[self.question] is None:
            return False
        a = answers[self.question]
        try:
            match self.op:
                case "eq":
                    return bool(a == self.value)
                case "ne":
                    return bool(a != self.value)
                case "gte":
                    return bool(a >= self.value)
                case "lte":
                    return bool(a <= self.value)
                case "in":
                    return a in self.value
        except TypeError:
            return False
        return False


class Template(_Strict):
    id: str
    version: int = Field(ge=1)
    title: str
    kind: Literal["health", "social_care", "carer", "home_environment_falls"]
    questions: list[Question]
    triggers: list[Trigger] = []

    @model_validator(mode="after")
    def _refs(self) -> Template:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        for t in self.triggers:
            if t.question not in ids:
                raise ValueError(f"trigger on unknown question {t.question!r}")
        return self


class ServiceSeed(_Strict):
    id: str
    name: str
    description: str
    eligibility: str
    referral_route: str
    localities: list[str] = []
    response_hours: dict[str, float]

    @model_validator(mode="after")
    def _hours(self) -> ServiceSeed:
        for k, v in self.response_hours.items():
            if k not in URGENCIES or v <= 0:
                raise ValueError(f"response_hours.{k}: urgency must be urgent/routine, hours > 0")
        return self


class ServiceDirectory(_Strict):
    services: list[ServiceSeed]


class CareConfig(_Strict):
    routing: Routing
    telehealth: Telehealth
    caseload: Caseload
    services: ServiceDirectory
    templates: dict[str, dict[int, Template]]

    def template(self, template_id: str, version: int | None = None) -> Template:
        versions = self.templates.get(template_id)
        if not versions:
            raise InputError(
                f"template_id: no assessment template {template_id!r} "
                f"(known: {', '.join(sorted(self.templates))})"
            )
        v = max(versions) if version is None else version
        if v not in versions:
            raise InputError(f"template_version: {template_id} has no version {v}")
        return versions[v]


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: cannot read as TOML ({e})") from e


def _validate(model: type[M], data: dict[str, Any], path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"{path}: {where}: {err['msg']}") from e


def load(config_dir: Path | str | None = None) -> CareConfig:
    """The shipped rules, each file replaced by the override directory's copy if present."""
    override = Path(config_dir) if config_dir is not None else None
    if override is not None and not override.is_dir():
        raise InputError(f"{override}: configuration directory does not exist")

    def pick(name: str) -> Path:
        if override is not None and (override / name).is_file():
            return override / name
        return DATA / name

    parts: dict[str, Any] = {}
    for key, model, name in (
        ("routing", Routing, "routing.toml"),
        ("telehealth", Telehealth, "telehealth.toml"),
        ("caseload", Caseload, "caseload.toml"),
        ("services", ServiceDirectory, "services.toml"),
    ):
        path = pick(name)
        parts[key] = _validate(model, _read(path), path)
    templates: dict[str, dict[int, Template]] = {}
    files = sorted((DATA / "assessments").glob("*.toml"))
    if override is not None and (override / "assessments").is_dir():
        files += sorted((override / "assessments").glob("*.toml"))
    for path in files:
        t = _validate(Template, _read(path), path)
        templates.setdefault(t.id, {})[t.version] = t
    services = {s.id for s in parts["services"].services}
    unknown = sorted(parts["routing"].services_named() - services)
    if unknown:
        raise InputError(f"{pick('routing.toml')}: service {unknown[0]!r} is not in services.toml")
    for versions in templates.values():
        for t in versions.values():
            for trig in t.triggers:
                if trig.service and trig.service not in services:
                    raise InputError(
                        f"assessment template {t.id} v{t.version}: trigger service "
                        f"{trig.service!r} is not in services.toml"
                    )
    return CareConfig(templates=templates, **parts)
