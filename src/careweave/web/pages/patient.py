"""The patient page (legitimate relationship required, else break-glass with a reason)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from careweave.care import (
    assessments,
    contacts,
    discharge,
    events,
    plans,
    register,
    relationships,
)
from careweave.care.incidents import incident_text
from careweave.care.wording import uk_date
from careweave.security import access
from careweave.security.errors import Forbidden, NotFound
from careweave.security.roles import allowed
from careweave.store.models import (
    Event,
    Incident,
    Notification,
    Person,
    Referral,
    Service,
    User,
)
from careweave.web import charts
from careweave.web import warehouse as wh
from careweave.web.record import shared_record
from careweave.web.render import PageDep
from careweave.web.templating import age, nhs_format, when

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
TIMELINE_DAYS = 730
# The timeline's period filter: days -> label. Anything else falls back to 2 years, saying so.
PERIODS = {
    "30": "Last 30 days",
    "90": "Last 3 months",
    "365": "Last 12 months",
    "730": "Last 2 years",
}
TELEHEALTH_DAYS = 30
EVENT_SETTING = {
    "admission": "Hospital",
    "discharge": "Hospital",
    "ae_attendance": "Hospital",
    "death": "Other",
    "telehealth_reading": "Telehealth",
    "fall_alarm": "Telecare",
    "social_care_package_change": "Social care",
}


def warehouse_path(request: Request) -> FsPath | None:
    p: FsPath | None = getattr(request.app.state, "careweave_warehouse", None)
    return p


def warehouse(request: Request) -> AbstractContextManager[Any]:
    """A cursor on the app's shared warehouse reader (``web.warehouse.Reader``), or None
    when no warehouse is attached or the file is absent."""
    reader: wh.Reader | None = getattr(request.app.state, "careweave_warehouse_reader", None)
    return reader.cursor() if reader is not None else nullcontext(None)


def _event_text(e: Event) -> str:
    kind = e.type.replace("_", " ")
    if e.type == "telehealth_reading":
        return f"Telehealth reading: {e.payload.get('measure')} {e.payload.get('value')}"
    detail = e.payload.get("detail") or e.payload.get("note") or e.payload.get("description")
    return f"{kind[:1].upper()}{kind[1:]}" + (f": {detail}" if detail else "") + f" ({e.source})"


def _reading_flag(v: float, low: float | None, high: float | None) -> str:
    if low is not None and v < low:
        return "Low"
    if high is not None and v > high:
        return "High"
    return "Normal"


def patient_context(
    p: PageDep, person: Person, setting: str = "", period: str = ""
) -> dict[str, Any]:
    """Everything the patient page shows: the care record from the store, the linked
    history from the warehouse (when attached), the timeline and telehealth charts."""
    ctx, nhs = p.ctx, person.nhs_number
    role = p.user.role
    today = uk_date(ctx.now)
    out: dict[str, Any] = {
        "person": person,
        "age": age(person.date_of_birth, today),
        "score_age_days": (today - person.risk_as_of).days if person.risk_as_of else 0,
        "can_enrol": allowed(role, "register", "write"),
        "can_plan": allowed(role, "care_plan", "write"),
        "can_assess": allowed(role, "assessment", "write"),
        "can_mdt": allowed(role, "mdt", "write"),
    }
    _care_record(p, nhs, out)
    since = today - dt.timedelta(days=TIMELINE_DAYS)
    evs = _recent_events(p, nhs, since)
    items = _store_timeline(evs, out)
    readings = _store_readings(evs, today)
    history: list[dict[str, Any]] = []
    out["record"] = None
    with warehouse(p.request) as con:
        out["warehouse"] = con is not None
        if con is not None:
            items += wh.timeline(con, nhs, since)
            th_since = ctx.now - dt.timedelta(days=TELEHEALTH_DAYS)
            for m, pts in wh.telehealth(con, nhs, th_since).items():
                readings.setdefault(m, []).extend(pts)
            history = wh.risk_history(con, nhs)
            out["record"] = shared_record(con, nhs, today)
    _filter_timeline(items, out, today, setting, period)
    out["risk_history"] = history or _latest_score(person)
    out["charts"] = _telehealth_charts(p, nhs, readings)
    out["links"] = relationships.links(ctx, nhs) if allowed(role, "person", "read") else []
    out["link_kinds"] = relationships.RELATIONSHIPS
    if allowed(role, "contact", "read"):
        out["contacts"] = contacts.current(ctx, nhs, record=False)
        out["can_edit_contacts"] = allowed(role, "contact", "write")
        out["contact_relationships"], out["contact_topics"] = (
            contacts.RELATIONSHIPS,
            contacts.TOPICS,
        )
    out["carer_alerts"] = relationships.open_carer_alerts(ctx.session, nhs)
    out["alerts"] = _alerts(out, person)
    plan = out.get("discharge")
    out["discharge_summary"] = discharge.summary(plan, today) if plan is not None else ""
    return out


def _care_record(p: PageDep, nhs: str, out: dict[str, Any]) -> None:
    """The store's side of the record, each part only where the role may read it."""
    s, ctx, role = p.ctx.session, p.ctx, p.user.role
    out["episodes"] = register.episodes(ctx, nhs) if allowed(role, "register", "read") else []
    out["team"] = []
    if allowed(role, "care_team", "read"):
        members = register.care_team(ctx, nhs)
        names = {
            u.id: u
            for u in s.execute(
                select(User).where(User.id.in_([m.user_id for m in members]))
            ).scalars()
        }
        out["team"] = [(m, names.get(m.user_id)) for m in members]
    out["plan"] = None
    out["plan_versions"] = []
    out["discharge"] = None
    if allowed(role, "care_plan", "read"):
        out["discharge"] = discharge.current(s, nhs)
        try:
            out["plan"] = plans.current(ctx, nhs)
            out["plan_versions"] = plans.versions(ctx, nhs)
        except NotFound:
            pass
    out["assessments"] = (
        list(reversed(assessments.history(ctx, nhs))) if allowed(role, "assessment", "read") else []
    )
    out["templates"] = {
        tid: max(v.values(), key=lambda t: t.version) for tid, v in ctx.config.templates.items()
    }
    out["referrals"] = list(
        s.execute(
            select(Referral, Service)
            .join(Service, Service.id == Referral.service_id)
            .where(Referral.nhs_number == nhs)
            .order_by(Referral.id.desc())
        ).tuples()
    )
    out["open_referrals"] = [
        (r, svc) for r, svc in out["referrals"] if r.status in access.OPEN_REFERRAL
    ]
    out["notifications"] = list(
        s.execute(
            select(Notification)
            .where(Notification.nhs_number == nhs, Notification.recipient_user_id == p.user.id)
            .order_by(Notification.id.desc())
            .limit(20)
        ).scalars()
    )
    out["incidents"] = list(
        s.execute(
            select(Incident).where(Incident.nhs_number == nhs).order_by(Incident.id)
        ).scalars()
    )


def _recent_events(p: PageDep, nhs: str, since: dt.date) -> list[Event]:
    """The person's live events from the store since a date, newest first (at most 500)."""
    return list(
        p.ctx.session.execute(
            select(Event)
            .where(
                Event.nhs_number == nhs,
                Event.occurred_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC),
            )
            .order_by(Event.occurred_at.desc())
            .limit(500)
        ).scalars()
    )


def _store_timeline(evs: list[Event], out: dict[str, Any]) -> list[wh.Item]:
    """Timeline items from the store: events (not readings), referrals, alarm incidents,
    plan versions."""
    items: list[wh.Item] = [
        wh.Item(e.occurred_at.date(), EVENT_SETTING.get(e.type, "Other"), _event_text(e))
        for e in evs
        if e.type != "telehealth_reading"
    ]
    for r, svc in out["referrals"]:
        items.append(
            wh.Item(
                r.received_at.date(),
                "Referral",
                f"Referred to {svc.name} ({r.urgency}): {r.status}",
            )
        )
    for inc in out["incidents"]:
        items.append(wh.Item(inc.alarm_at.date(), "Telecare", incident_text(inc)))
    for v in out["plan_versions"]:
        items.append(wh.Item(v.changed_at.date(), "Care plan", f"Care plan version {v.version}"))
    return items


def _store_readings(evs: list[Event], today: dt.date) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Telehealth readings received as events in the charts' window, by measure."""
    readings: dict[str, list[tuple[dt.datetime, float]]] = {}
    for e in evs:
        if e.type == "telehealth_reading" and e.occurred_at.date() >= today - dt.timedelta(
            days=TELEHEALTH_DAYS
        ):
            readings.setdefault(str(e.payload.get("measure")), []).append(
                (e.occurred_at, float(e.payload["value"]))
            )
    return readings


def _filter_timeline(
    items: list[wh.Item], out: dict[str, Any], today: dt.date, setting: str, period: str
) -> None:
    """Sort the timeline and apply the setting and period filters (an unknown value falls
    back to all settings / the last 2 years, and the page says so)."""
    items.sort(key=lambda i: i.date, reverse=True)
    out["settings"] = sorted({i.setting for i in items})
    out["periods"] = PERIODS
    out["timeline_notes"] = []
    if period and period not in PERIODS:
        out["timeline_notes"].append(
            "That period is not one of the choices: showing the last 2 years."
        )
        period = ""
    if setting and setting not in out["settings"]:
        out["timeline_notes"].append("Nothing is recorded in that setting: showing all settings.")
        setting = ""
    out["period"] = period or "730"
    out["setting"] = setting
    start = today - dt.timedelta(days=int(out["period"]))
    shown = [i for i in items if i.date >= start and (not setting or i.setting == setting)]
    out["timeline_total"] = len(shown)
    out["timeline"] = shown[:300]


def _latest_score(person: Person) -> list[dict[str, Any]]:
    """The people index's latest score as a one-row risk history (no warehouse attached)."""
    if person.risk_as_of is None:
        return []
    return [
        {
            "as_of": person.risk_as_of,
            "probability": person.risk_probability,
            "percentile": person.risk_percentile,
            "ccm_level": person.ccm_level,
            "segment": person.segment,
            "explanation": person.risk_explanation,
        }
    ]


def _telehealth_charts(
    p: PageDep, nhs: str, readings: dict[str, list[tuple[dt.datetime, float]]]
) -> list[dict[str, Any]]:
    """One chart per measure with readings, against the person's normal range."""
    s, cfg = p.ctx.session, p.ctx.config.telehealth
    out: list[dict[str, Any]] = []
    for measure, pts in sorted(readings.items()):
        spec = cfg.measures.get(measure)
        if spec is None or not pts:
            continue
        pts = sorted(set(pts))
        low, high = events.normal_range(s, measure, spec, nhs)
        title = (
            f"{measure.replace('_', ' ').capitalize()} ({spec.unit}), last {TELEHEALTH_DAYS} days"
        )
        out.append(
            {
                "measure": measure,
                "unit": spec.unit,
                "low": low,
                "high": high,
                "points": pts,
                "svg": charts.readings(f"chart-{measure}", title, spec.unit, pts, low, high),
                "title": title,
                "out": [(t, v) for t, v in pts if events.out_of_range(v, low, high)],
                "flags": {(t, v): _reading_flag(v, low, high) for t, v in pts},
            }
        )
    return out


def _alerts(out: dict[str, Any], person: Person) -> list[str]:
    """What someone opening the record must not miss, in words, most urgent first."""
    alerts: list[str] = [
        f"{t.title} (since {when(t.created_at)}): check they are safe"
        for t in out.get("carer_alerts", [])
    ]
    plan = out.get("discharge")
    if plan is not None and discharge.undecided(plan):
        alerts.append("Went home without a decision on the package of care: restart or change it")
    weekend = discharge.weekend_flag(plan) if plan is not None else None
    if weekend:
        alerts.append(weekend)
    record = out.get("record")
    if record is not None and record.allergies:
        high = [a.what for a in record.allergies if a.criticality == "high"]
        if high:
            alerts.append("High-risk allergy: " + "; ".join(high))
    for c in out["charts"]:
        if c["out"]:
            t, v = c["out"][-1]
            flag = c["flags"][(t, v)].lower()
            alerts.append(
                f"{c['measure'].replace('_', ' ').capitalize()} {flag}: {v:g} {c['unit']} "
                f"on {when(t)} ({len(c['out'])} of {len(c['points'])} readings out of range "
                f"in the last {TELEHEALTH_DAYS} days)"
            )
    breached = [svc.name for r, svc in out["open_referrals"] if r.breached_at is not None]
    if breached:
        alerts.append("Referral past its response standard: " + ", ".join(breached))
    if person.interpreter_required:
        alerts.append("Needs an interpreter")
    if person.date_of_death:
        alerts.append(f"Died {when(person.date_of_death)}")
    return alerts


@router.get("/people/{nhs_number}", response_class=HTMLResponse)
def patient(
    nhs_number: Nhs,
    p: PageDep,
    setting: Annotated[str, Query(max_length=64)] = "",
    period: Annotated[str, Query(max_length=8)] = "",
    saved: Annotated[str, Query(max_length=16, pattern="^[a-z-]*$")] = "",
) -> Response:
    try:
        person = p.ctx.person(nhs_number, "person", "read")
    except Forbidden as e:
        if (
            allowed(p.user.role, "person", "read")
            and p.ctx.session.get(Person, nhs_number) is not None
        ):
            return p.render(
                "break_glass.html",
                status=403,
                title="You do not have a care relationship with this person",
                nhs_number=nhs_number,
                message=str(e),
                can_break_glass=allowed(p.user.role, "break_glass", "write"),
                error=None,
                reason="",
            )
        raise
    context = patient_context(p, person, setting, period)
    if saved == "care-plan" and context.get("plan") is not None:
        # After a save: the NHS.UK notification banner names who was told.
        context["told"] = ("Care plan saved", plans.told(p.ctx, nhs_number, context["plan"]))
    return patient_page(p, person, context=context)


def patient_page(
    p: PageDep,
    person: Person,
    *,
    status: int = 200,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> Response:
    """The patient page; a form on it refused (carers and family) passes ``errors`` and
    what was typed, shown in the NHS.UK error pattern."""
    context = context if context is not None else patient_context(p, person, "", "")
    return p.render(
        "patient.html",
        status=status,
        title=person.display_name or f"NHS number {nhs_format(person.nhs_number)}",
        banner_heading=True,
        **context,
        **extra,
    )


@router.post("/people/{nhs_number}/break-glass")
def break_glass(nhs_number: Nhs, p: PageDep, reason: Annotated[str, Form()] = "") -> Response:
    problem = (
        "Give the reason for emergency access in at least 10 characters"
        if len(reason.strip()) < 10
        else "Reason for emergency access must be 2,000 characters or fewer"
        if len(reason) > 2000
        else None
    )
    if problem:
        return p.render(
            "break_glass.html",
            status=422,
            title="You do not have a care relationship with this person",
            nhs_number=nhs_number,
            message="",
            can_break_glass=allowed(p.user.role, "break_glass", "write"),
            error=problem,
            reason=reason,
        )
    access.break_glass(p.ctx.session, p.user, nhs_number, reason, p.ctx.now)
    return RedirectResponse(f"/app/people/{nhs_number}", status_code=303)
