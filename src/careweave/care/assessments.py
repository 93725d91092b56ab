"""Unified assessment: answers validated against a versioned template; triggers fire actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from careweave.care import referrals
from careweave.care.config import Question, Template
from careweave.care.context import Ctx
from careweave.care.notify import notify_team, task_for_role
from careweave.security import audit
from careweave.security.errors import Invalid
from careweave.store.models import Assessment


def check_answers(template: Template, answers: dict[str, Any]) -> dict[str, Any]:
    """Pure: answers conforming to the template, or Invalid naming the first bad one."""
    known = {q.id: q for q in template.questions}
    for key in answers:
        if key not in known:
            raise Invalid(f"answers.{key}: not a question in {template.id} v{template.version}")
    out: dict[str, Any] = {}
    for q in template.questions:
        value = answers.get(q.id)
        if value is None:
            if q.required:
                raise Invalid(f"answers.{q.id}: required ({q.text})")
            continue
        out[q.id] = _check(q, value)
    return out


def _check(q: Question, v: Any) -> Any:
    where = f"answers.{q.id}"
    if q.type == "boolean":
        if not isinstance(v, bool):
            raise Invalid(f"{where}: must be true or false")
        return v
    if q.type in ("integer", "number"):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise Invalid(f"{where}: must be a number")
        if q.type == "integer" and v != int(v):
            raise Invalid(f"{where}: must be a whole number")
        if (q.min is not None and v < q.min) or (q.max is not None and v > q.max):
            raise Invalid(f"{where}: must be between {q.min:g} and {q.max:g}")
        return int(v) if q.type == "integer" else float(v)
    if not isinstance(v, str):
        raise Invalid(f"{where}: must be text")
    if q.type == "choice" and v not in q.options:
        raise Invalid(f"{where}: must be one of {', '.join(q.options)}")
    if len(v) > 10_000:
        raise Invalid(f"{where}: too long")
    return v


def record(
    ctx: Ctx,
    nhs_number: str,
    template_id: str,
    answers: dict[str, Any],
    template_version: int | None = None,
) -> Assessment:
    ctx.person(nhs_number, "assessment", "write")
    try:
        template = ctx.config.template(template_id, template_version)
    except Exception as e:
        raise Invalid(str(e)) from e
    clean = check_answers(template, answers)
    fired: list[dict[str, Any]] = []
    a = Assessment(
        nhs_number=nhs_number,
        template_id=template.id,
        template_version=template.version,
        answers=clean,
        triggered=[],
        recorded_by=ctx.user.id,
        recorded_at=ctx.now,
    )
    ctx.session.add(a)
    ctx.session.flush()
    for t in template.triggers:
        if not t.fires(clean):
            continue
        if t.action == "referral":
            assert t.service is not None
            ref = referrals.create_referral(
                ctx,
                nhs_number,
                t.service,
                t.urgency,
                t.reason or f"{template.title}: {t.question} {t.op} {t.value}",
                source=f"assessment:{a.id}",
                check_access=False,
            )
            fired.append({"action": "referral", "referral_id": ref.id, "service": t.service})
        elif t.action == "task":
            assert t.role is not None and t.title is not None
            task = task_for_role(
                ctx.session,
                nhs_number,
                t.role,
                fallback_service=ctx.config.routing.unowned_to,
                title=t.title,
                due_at=ctx.now + dt.timedelta(hours=t.due_hours),
                source=f"assessment:{a.id}",
                now=ctx.now,
            )
            ctx.session.flush()
            fired.append({"action": "task", "task_id": task.id, "role": t.role})
        else:
            assert t.title is not None
            sent = notify_team(
                ctx.session, nhs_number, t.roles, kind="assessment", subject=t.title, now=ctx.now
            )
            fired.append({"action": "notify", "recipients": len(sent)})
    a.triggered = fired
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="assessment",
        resource_id=a.id,
        nhs_number=nhs_number,
        detail=f"{template.id} v{template.version}; {len(fired)} trigger(s)",
        now=ctx.now,
    )
    return a


def history(ctx: Ctx, nhs_number: str) -> list[Assessment]:
    ctx.person(nhs_number, "assessment", "read")
    return list(
        ctx.session.execute(
            select(Assessment).where(Assessment.nhs_number == nhs_number).order_by(Assessment.id)
        ).scalars()
    )
