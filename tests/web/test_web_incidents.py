"""The alarm pathway in the browser: the control centre's queue with the 2-hour clock, an
incident page per alarm whose buttons dispatch, record arrival and record the outcome
(each telling the team, the banner naming who), a stale page refused (409) and a missing
outcome in the NHS.UK error pattern, the alarm's task following the incident, the outcome on
the timeline, and the clock-driven breach check flagging a late alarm once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_web_carer import joneses

from careweave.care import config as care_config
from careweave.care.background import Loop, breach_job
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Incident, Notification, Task, User

Client = Callable[[str], tuple[TestClient, str]]


def alarm(client: TestClient, token: str, nhs: str, minutes_ago: int) -> int:
    r = client.post(
        "/events",
        json={
            "nhs_number": nhs,
            "type": "fall_alarm",
            "occurred_at": (
                dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
            ).isoformat(),
            "payload": {"device": "pendant"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["incident_id"])


def alarm_task(s: Session, inc: int) -> Task:
    """The fall-alarm rule's task (not the carer-at-risk check the alarm also raises)."""
    i = s.get(Incident, inc)
    assert i is not None
    return s.execute(
        select(Task).where(Task.event_id == i.event_id, Task.source == "event:fall_alarm")
    ).scalar_one()


def version(page: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', page)
    assert m is not None
    return m.group(1)


def test_control_centre_works_an_alarm_through_the_pages(demo_db: str, client_for: Client) -> None:
    mrs, _, token = joneses(demo_db)
    cc, cc_csrf = client_for("control.centre")
    inc = alarm(cc, token, mrs, 10)
    home = cc.get("/app/")
    assert 'href="/app/incidents"' in home.text and "Alarm incidents in your queue" in home.text
    queue = cc.get("/app/incidents")
    assert queue.status_code == 200
    ref = f"A{inc:06d}"
    assert ref in queue.text and "left" in queue.text  # the 2-hour clock
    page = cc.get(f"/app/incidents/{inc}")
    assert "Dispatch rapid response" in page.text
    v = version(page.text)
    with session_factory(make_engine(demo_db))() as s:
        rr_id = s.execute(select(User.id).where(User.username == "rapid.response")).scalar_one()
    r = cc.post(
        f"/app/incidents/{inc}",
        data={"csrf_token": cc_csrf, "version": v, "status": "dispatched", "responder": rr_id},
    )
    assert r.status_code == 200 and "Rapid response dispatched" in r.text
    assert 'id="told"' in r.text and "Told:" in r.text and "Owain Jenkins" in r.text
    # The same (now stale) page sent again is refused, in the NHS.UK error summary.
    stale = cc.post(
        f"/app/incidents/{inc}",
        data={"csrf_token": cc_csrf, "version": v, "status": "arrived"},
    )
    assert stale.status_code == 409
    assert "There is a problem" in stale.text and "changed since you opened it" in stale.text
    with session_factory(make_engine(demo_db))() as s:
        task = alarm_task(s, inc)
        assert task.owner_user_id == rr_id  # handed to the named responder
    # Rapid response records arrival, then the outcome.
    rr, rr_csrf = client_for("rapid.response")
    assert 'href="/app/incidents"' in rr.get("/app/").text
    page = rr.get(f"/app/incidents/{inc}")
    assert "Record arrival" in page.text
    r = rr.post(
        f"/app/incidents/{inc}",
        data={"csrf_token": rr_csrf, "version": version(page.text), "status": "arrived"},
    )
    assert r.status_code == 200 and "Arrived after" in r.text
    page = rr.get(f"/app/incidents/{inc}")
    missing = rr.post(
        f"/app/incidents/{inc}",
        data={"csrf_token": rr_csrf, "version": version(page.text), "status": "closed"},
    )
    assert missing.status_code == 422
    assert '<a href="#outcome-1">Choose how the incident ended</a>' in missing.text
    assert "nhsuk-form-group--error" in missing.text
    r = rr.post(
        f"/app/incidents/{inc}",
        data={
            "csrf_token": rr_csrf,
            "version": version(page.text),
            "status": "closed",
            "outcome": "treated_at_home",
        },
    )
    assert r.status_code == 200, r.text[-3000:]
    assert "Closed</strong>" in r.text and "treated at home" in r.text
    with session_factory(make_engine(demo_db))() as s:
        i = s.get(Incident, inc)
        assert i is not None and i.status == "closed" and i.outcome == "treated_at_home"
        assert alarm_task(s, inc).status == "done"
        told = s.execute(
            select(User.username)
            .join(Notification, Notification.recipient_user_id == User.id)
            .where(Notification.kind == "incident", Notification.event_id == i.event_id)
        ).scalars()
        reached = set(told)
    # Every agency of the alarm rule heard of each step (not only the GP).
    assert {"gp.jones", "coordinator", "district.nurse", "support.worker"} <= reached
    # The GP sees the incident and its outcome on the timeline, but has no buttons.
    gp, _ = client_for("gp.jones")
    gp_page = gp.get(f"/app/incidents/{inc}")
    assert gp_page.status_code == 200 and "Record the outcome" not in gp_page.text
    record = gp.get(f"/app/people/{mrs}")
    assert f"Fall alarm {ref}: closed, treated at home" in record.text
    # Someone with no relationship cannot open it.
    outsider, _ = client_for("commissioner")
    assert outsider.get(f"/app/incidents/{inc}").status_code in (403, 404)


def test_late_alarm_is_flagged_on_read_and_by_the_clock_once(
    demo_db: str, client_for: Client
) -> None:
    mrs, _, token = joneses(demo_db)
    cc, _ = client_for("control.centre")
    inc = alarm(cc, token, mrs, 130)
    queue = cc.get("/app/incidents")
    assert 'id="late"' in queue.text and "overdue" in queue.text  # on read, before any check
    coordinator, _ = client_for("coordinator")
    assert 'id="late-alarms"' in coordinator.get("/app/").text
    engine = make_engine(demo_db)
    loop = Loop([breach_job(session_factory(engine), care_config.load(None))])
    loop.tick()
    loop.jobs[0].next_at = 0.0
    loop.tick()  # a second turn flags nothing new
    with session_factory(engine)() as s:
        i = s.get(Incident, inc)
        assert i is not None and i.breached
        assert [h["status"] for h in i.history].count("breach") == 1
        alerts = s.execute(
            select(User.username, Notification.subject)
            .join(User, User.id == Notification.recipient_user_id)
            .where(Notification.kind == "incident_breach", Notification.event_id == i.event_id)
        ).all()
    names = [u for u, _ in alerts]
    assert len(names) == len(set(names)) and {"control.centre", "coordinator"} <= set(names)
    assert "within 2 hours of the fall alarm" in alerts[0][1]
    assert "2-hour standard missed" in cc.get(f"/app/incidents/{inc}").text
