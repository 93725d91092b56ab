"""Assessments, care plans, events, MDT, tasks and notifications."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from careweave.api.deps import Context, EventCredentials, state
from careweave.api.event_writer import EventWriter
from careweave.api.routers.people import Nhs, PathId
from careweave.api.schemas import (
    AssessmentIn,
    AssessmentOut,
    CarePlanIn,
    CarePlanOut,
    DecisionIn,
    EventIn,
    EventOut,
    MeetingIn,
    MeetingOut,
    NotificationOut,
    TaskOut,
    TaskUpdateIn,
    TemplateOut,
)
from careweave.care import assessments, mdt, notify, plans
from careweave.security import audit
from careweave.security.errors import Conflict, NotFound
from careweave.store.models import Notification

router = APIRouter()


@router.get("/assessment-templates", response_model=list[TemplateOut], tags=["assessments"])
def templates(ctx: Context) -> list[TemplateOut]:
    """Every version of every assessment template, with its questions and triggers."""
    ctx.require("assessment", "read")
    return [
        TemplateOut.model_validate(t.model_dump())
        for versions in ctx.config.templates.values()
        for t in versions.values()
    ]


@router.post(
    "/people/{nhs_number}/assessments",
    response_model=AssessmentOut,
    status_code=201,
    tags=["assessments"],
)
def record_assessment(nhs_number: Nhs, body: AssessmentIn, ctx: Context) -> AssessmentOut:
    """Record answers against a template (latest version unless given); triggers fire."""
    a = assessments.record(
        ctx, nhs_number, body.template_id, dict(body.answers), body.template_version
    )
    return AssessmentOut.model_validate(a)


@router.get(
    "/people/{nhs_number}/assessments", response_model=list[AssessmentOut], tags=["assessments"]
)
def list_assessments(nhs_number: Nhs, ctx: Context) -> list[AssessmentOut]:
    return [AssessmentOut.model_validate(a) for a in assessments.history(ctx, nhs_number)]


@router.get("/people/{nhs_number}/care-plan", response_model=CarePlanOut, tags=["care plans"])
def care_plan(
    nhs_number: Nhs,
    ctx: Context,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> CarePlanOut:
    """The current care plan, or an earlier version."""
    return CarePlanOut.model_validate(plans.current(ctx, nhs_number, version))


@router.put("/people/{nhs_number}/care-plan", response_model=CarePlanOut, tags=["care plans"])
def save_care_plan(nhs_number: Nhs, body: CarePlanIn, ctx: Context) -> CarePlanOut:
    """Save a new version (base_version must be current); the care team is notified."""
    return CarePlanOut.model_validate(plans.save(ctx, nhs_number, body.content, body.base_version))


@router.get(
    "/people/{nhs_number}/care-plan/versions",
    response_model=list[CarePlanOut],
    tags=["care plans"],
)
def care_plan_versions(nhs_number: Nhs, ctx: Context) -> list[CarePlanOut]:
    """Every version, oldest first, each with who changed what and when."""
    return [CarePlanOut.model_validate(v) for v in plans.versions(ctx, nhs_number)]


@router.post("/events", response_model=EventOut, tags=["events"])
async def post_event(request: Request, body: EventIn, creds: EventCredentials) -> Response:
    """An event about a person; routed by the rules to notifications, tasks and alerts.

    Re-sending an ``external_id`` already seen returns the first result (duplicate=true).
    """
    # Checked here in the event loop; stored by this process's event writer, in one
    # transaction with the other events waiting (api/event_writer.py): the reply comes
    # once that transaction has committed.
    answer = await asyncio.wrap_future(event_writer(request).submit(creds, body))
    return Response(answer, media_type="application/json")


def event_writer(request: Request) -> EventWriter:
    """The app's writer of events (one per process, made on first use)."""
    found: EventWriter | None = getattr(request.app.state, "careweave_event_writer", None)
    if found is None:
        found = request.app.state.careweave_event_writer = EventWriter(state(request))
    return found


@router.post("/mdt", response_model=MeetingOut, status_code=201, tags=["mdt"])
def new_meeting(body: MeetingIn, ctx: Context) -> MeetingOut:
    m = mdt.create_meeting(ctx, body.title, body.held_at, list(body.agenda), list(body.attendees))
    return MeetingOut.model_validate(m)


@router.get("/mdt/{meeting_id}", response_model=MeetingOut, tags=["mdt"])
def meeting(meeting_id: PathId, ctx: Context) -> MeetingOut:
    return MeetingOut.model_validate(mdt.get_meeting(ctx, meeting_id))


@router.post(
    "/mdt/{meeting_id}/decisions", response_model=list[TaskOut], status_code=201, tags=["mdt"]
)
def decide(meeting_id: PathId, body: DecisionIn, ctx: Context) -> list[TaskOut]:
    """Record a decision about a person on the agenda; its actions become tasks."""
    actions = [mdt.Action(a.title, a.owner_user_id, a.due_date) for a in body.actions]
    tasks = mdt.record_decision(ctx, meeting_id, body.nhs_number, body.decision, actions)
    return [TaskOut.model_validate(t) for t in tasks]


@router.get("/tasks", response_model=list[TaskOut], tags=["tasks"])
def my_tasks(
    ctx: Context,
    status: Annotated[str | None, Query(pattern="^(open|in_progress|done|cancelled)$")] = None,
) -> list[TaskOut]:
    """Tasks owned by me, or by my care-team role where no one owns them yet."""
    return [TaskOut.model_validate(t) for t in mdt.my_tasks(ctx, status)]


@router.patch("/tasks/{task_id}", response_model=TaskOut, tags=["tasks"])
def update_task(task_id: PathId, body: TaskUpdateIn, ctx: Context) -> TaskOut:
    return TaskOut.model_validate(mdt.update_task(ctx, task_id, body.status))


@router.get("/notifications", response_model=list[NotificationOut], tags=["notifications"])
def my_notifications(
    ctx: Context,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NotificationOut]:
    """My notifications and alerts, newest first (none about people I may no longer see)."""
    return [
        NotificationOut.model_validate(n) for n in notify.inbox(ctx, unread=unread, limit=limit)
    ]


@router.post(
    "/notifications/{notification_id}/read", response_model=NotificationOut, tags=["notifications"]
)
def mark_read(notification_id: PathId, ctx: Context) -> NotificationOut:
    ctx.require("notification", "read")
    n = ctx.session.get(Notification, notification_id)
    if n is None or n.recipient_user_id != ctx.user.id:
        raise NotFound(f"notification_id: no notification {notification_id} for you")
    if n.read_at is not None:
        raise Conflict(f"notification {notification_id}: already read")
    n.read_at = ctx.now
    if n.nhs_number is not None:
        audit.record(
            ctx.session,
            actor=ctx.user.username,
            action="read",
            resource="notification",
            resource_id=n.id,
            nhs_number=n.nhs_number,
            now=ctx.now,
        )
    return NotificationOut.model_validate(n)
