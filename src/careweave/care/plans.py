"""Shared care plans: every version kept whole, with who changed what; changes notify the team."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from careweave.care import plan_words
from careweave.care.context import Ctx
from careweave.care.notify import notify_team
from careweave.care.wording import person_name, possessive
from careweave.security import audit
from careweave.security.errors import Conflict, NotFound
from careweave.security.roles import TEAM_ROLES
from careweave.store.models import CarePlan, CarePlanVersion, Notification, Person, User

TeamRole = Literal[TEAM_ROLES]  # type: ignore[valid-type]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Goal(_M):
    text: str = Field(min_length=1, max_length=2000)
    target_date: dt.date | None = None


class Intervention(_M):
    description: str = Field(min_length=1, max_length=2000)
    owner_organisation: str = Field(min_length=1, max_length=200)
    owner_role: TeamRole
    due_date: dt.date
    status: Literal["planned", "in_progress", "done", "cancelled"] = "planned"


class CrisisContact(_M):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=3, max_length=40)


class CarePlanContent(_M):
    goals: list[Goal] = Field(default=[], max_length=100)
    interventions: list[Intervention] = Field(default=[], max_length=200)
    crisis_contacts: list[CrisisContact] = Field(default=[], max_length=20)
    crisis_plan: str = Field(default="", max_length=5000)
    step_status: Literal["step_up", "step_down", "stable"] = "stable"
    review_date: dt.date


def diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Pure: what changed between two JSON-like values, as readable paths."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            p = f"{path}.{k}" if path else k
            if k not in old:
                out.append(f"{p}: added")
            elif k not in new:
                out.append(f"{p}: removed")
            else:
                out += diff(old[k], new[k], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            p = f"{path}[{i}]"
            if i >= len(old):
                out.append(f"{p}: added")
            elif i >= len(new):
                out.append(f"{p}: removed")
            else:
                out += diff(old[i], new[i], p)
        return out
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def _plan(ctx: Ctx, nhs_number: str) -> CarePlan | None:
    return ctx.session.execute(
        select(CarePlan).where(CarePlan.nhs_number == nhs_number)
    ).scalar_one_or_none()


def save(
    ctx: Ctx, nhs_number: str, content: CarePlanContent, base_version: int | None
) -> CarePlanVersion:
    """Write a new version. ``base_version`` must be the current one (None for the first)."""
    ctx.person(nhs_number, "care_plan", "write")
    plan = _plan(ctx, nhs_number)
    current = plan.current_version if plan else None
    if base_version != current:
        raise Conflict(
            f"base_version: the plan is at version {current}, not {base_version}; "
            "reload it and apply your change again"
        )
    new = content.model_dump(mode="json")
    before: dict[str, Any] | None = None
    if plan is None:
        plan = CarePlan(nhs_number=nhs_number, current_version=1)
        ctx.session.add(plan)
        ctx.session.flush()
        changes = ["created"]
        version = 1
    else:
        prev = _version(ctx, plan, plan.current_version)
        before = prev.content
        changes = diff(prev.content, new)
        if not changes:
            raise Conflict("content: no change from the current version")
        version = plan.current_version + 1
        plan.current_version = version
    v = CarePlanVersion(
        care_plan_id=plan.id,
        version=version,
        content=new,
        changes=changes,
        changed_by=ctx.user.id,
        changed_at=ctx.now,
    )
    ctx.session.add(v)
    ctx.session.flush()
    person = ctx.session.get(Person, nhs_number)
    assert person is not None
    subject = plan_words.sentence(
        ctx.user.display_name, possessive(person_name(person)), before, new
    )
    notify_team(
        ctx.session,
        nhs_number,
        ["*"],
        kind="care_plan",
        subject=subject,
        now=ctx.now,
        exclude_user=ctx.user.id,
    )
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="care_plan",
        resource_id=f"{plan.id}v{version}",
        nhs_number=nhs_number,
        detail=f"{len(changes)} change(s)",
        now=ctx.now,
    )
    return v


def _version(ctx: Ctx, plan: CarePlan, version: int) -> CarePlanVersion:
    v = ctx.session.execute(
        select(CarePlanVersion).where(
            CarePlanVersion.care_plan_id == plan.id, CarePlanVersion.version == version
        )
    ).scalar_one_or_none()
    if v is None:
        raise NotFound(f"version: the care plan has no version {version}")
    return v


def current(ctx: Ctx, nhs_number: str, version: int | None = None) -> CarePlanVersion:
    ctx.person(nhs_number, "care_plan", "read")
    plan = _plan(ctx, nhs_number)
    if plan is None:
        raise NotFound(f"nhs_number {nhs_number}: has no care plan yet")
    return _version(ctx, plan, version or plan.current_version)


def versions(ctx: Ctx, nhs_number: str) -> list[CarePlanVersion]:
    ctx.person(nhs_number, "care_plan", "read")
    plan = _plan(ctx, nhs_number)
    if plan is None:
        return []
    return list(
        ctx.session.execute(
            select(CarePlanVersion)
            .where(CarePlanVersion.care_plan_id == plan.id)
            .order_by(CarePlanVersion.version)
        ).scalars()
    )


def told(ctx: Ctx, nhs_number: str, v: CarePlanVersion) -> list[str]:
    """The names of the people told of version ``v`` (its care_plan notifications)."""
    rows = ctx.session.execute(
        select(User.display_name)
        .join(Notification, Notification.recipient_user_id == User.id)
        .where(
            Notification.nhs_number == nhs_number,
            Notification.kind == "care_plan",
            Notification.created_at == v.changed_at,
        )
        .order_by(Notification.id)
    ).scalars()
    return list(rows)


def history(ctx: Ctx, nhs_number: str) -> list[tuple[CarePlanVersion, str, list[str]]]:
    """Every version, newest first, with who made it and what changed, in words."""
    vs = versions(ctx, nhs_number)
    names = {
        u.id: u.display_name
        for u in ctx.session.execute(
            select(User).where(User.id.in_({v.changed_by for v in vs}))
        ).scalars()
    }
    out = []
    prev: dict[str, Any] | None = None
    for v in vs:
        out.append((v, names.get(v.changed_by, "?"), plan_words.describe(prev, v.content)))
        prev = v.content
    return list(reversed(out))
