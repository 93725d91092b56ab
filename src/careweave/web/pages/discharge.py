"""Discharge planning in the browser: the discharge list (the ward's and the
co-ordinator's view, flags first) and a page per plan with its dates, checklist,
the package-of-care decision and the discharge itself.

The page's form carries the plan's version, so a save made on a page someone else
has since changed is refused (409, the NHS.UK error summary) rather than applied.
Recording the discharge needs the package decision (restart, change, new, none):
it is never silently kept. The discharge is then recorded as a ``discharge`` event,
as the hospital's system would send it, so it is routed like any other
(care/events.py), and the page shows who was told.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from careweave.care import discharge, events
from careweave.care.discharge import CHECKLIST, ITEM_STATUSES, PACKAGE_DECISIONS, Changes
from careweave.care.wording import uk_date
from careweave.security.errors import Conflict, Invalid
from careweave.store.models import DischargePlan, Notification, User
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]


@router.get("/discharges", response_class=HTMLResponse)
def discharge_list(p: PageDep) -> Response:
    return p.render(
        "discharges.html",
        title="Discharge planning",
        watched=discharge.watch_list(p.ctx),
        decisions=PACKAGE_DECISIONS,
    )


def _page(
    p: PageDep,
    nhs: str,
    errors: list[tuple[str, str]],
    status: int,
    values: dict[str, Any] | None = None,
    told: tuple[str, list[str]] | None = None,
) -> Response:
    person = p.ctx.person(nhs, "care_plan", "read")
    plan = discharge.get_plan(p.ctx, nhs)
    today = uk_date(p.ctx.now)
    return p.render(
        "discharge_plan.html",
        status=status,
        title="Discharge plan",
        person=person,
        plan=plan,
        checklist=CHECKLIST,
        item_statuses=ITEM_STATUSES,
        decisions=PACKAGE_DECISIONS,
        weekend=discharge.weekend_flag(plan),
        delayed=discharge.delayed_days(plan, today),
        undecided=discharge.undecided(plan),
        summary=discharge.summary(plan, today),
        errors=errors,
        values=values or {},
        told=told,
    )


@router.get("/people/{nhs_number}/discharge", response_class=HTMLResponse)
def plan_page(
    nhs_number: Nhs,
    p: PageDep,
    saved: Annotated[str, Query(max_length=16, pattern="^[a-z-]*$")] = "",
) -> Response:
    told = None
    if saved:
        plan = discharge.get_plan(p.ctx, nhs_number)
        last = plan.history[-1] if plan.history else {}
        heading = "Discharge recorded" if saved == "discharged" else "Discharge plan saved"
        told = (heading, _told_now(p, plan) if saved == "discharged" else last.get("told", []))
    return _page(p, nhs_number, [], 200, told=told)


def _told_now(p: PageDep, plan: DischargePlan) -> list[str]:
    """Who was told of the discharge event (its notifications)."""
    if plan.discharge_event_id is None:
        return []
    rows = p.ctx.session.execute(
        select(User.display_name)
        .join(Notification, Notification.recipient_user_id == User.id)
        .where(Notification.event_id == plan.discharge_event_id)
        .order_by(Notification.id)
    ).scalars()
    return list(dict.fromkeys(rows))


def _date(form: Form_, key: str, label: str, errors: list[tuple[str, str]]) -> dt.date | None:
    raw = str(form.get(key) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append((key, f"{label}: enter a real date, like 4 12 2026"))
        return None


FIELDS = {
    "expected_discharge_date": "expected_discharge_date",
    "discharge_ready_date": "discharge_ready_date",
    "package_decision": "package_decision-restart",
    "package_note": "package_note",
    "items": "item-package-done",
}


def _field_of(message: str) -> str:
    """The form field a domain error names (its text before the first colon)."""
    name = message.split(":", 1)[0].split(".", 1)[0]
    return FIELDS.get(name, "")


@router.post("/people/{nhs_number}/discharge")
def save(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    errors: list[tuple[str, str]] = []
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = 0
    changes = Changes(
        expected_discharge_date=_date(
            form, "expected_discharge_date", "Expected date of discharge", errors
        ),
        discharge_ready_date=_date(form, "discharge_ready_date", "Discharge-ready date", errors),
        items={
            k: str(form.get(f"item-{k}"))
            for k in CHECKLIST
            if str(form.get(f"item-{k}") or "") in ITEM_STATUSES
        },
        package_decision=str(form.get("package_decision") or "") or None,
        package_note=str(form.get("package_note") or "").strip() or None,
    )
    action = str(form.get("action") or "save")
    if action == "discharge" and changes.package_decision is None:
        errors.append(
            (
                "package_decision-restart",
                "Package of care: choose whether it restarts, changes, is new or is not "
                "needed before recording the discharge",
            )
        )
    code = 422
    if action == "discharge" and discharge.get_plan(p.ctx, nhs_number).discharged_at:
        errors.append(("", "This person has already been discharged"))
    if not errors:
        try:
            discharge.update(p.ctx, nhs_number, version, changes)
            if action == "discharge":
                events.ingest(
                    p.ctx,
                    nhs_number,
                    "discharge",
                    p.ctx.now,
                    {"detail": "recorded on the discharge plan"},
                    source="workbench",
                )
        except Conflict as e:
            errors.append(("", str(e).split(": ", 1)[-1]))
            code = 409
        except Invalid as e:
            errors.append((_field_of(str(e)), str(e).split(": ", 1)[-1]))
    if errors:
        # Nothing was written: the request's transaction is rolled back on error pages,
        # and a refused update raises before it changes the plan.
        p.ctx.session.rollback()
        return _page(p, nhs_number, errors, code, values)
    saved = "discharged" if action == "discharge" else "plan"
    return RedirectResponse(
        f"/app/people/{nhs_number}/discharge?saved={saved}#told", status_code=303
    )
