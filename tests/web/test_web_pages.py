"""Every page through FastAPI's TestClient: status, permission refusals, CSV, no-JS forms + CSRF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import BreakGlass, CarePlanVersion, Notification, Referral, Task, User
from careweave.web.demo import DEMO_USERS_ORDER

# One worker runs the module in order: later tests build on the store earlier ones changed.
pytestmark = pytest.mark.xdist_group("web-pages")

MRS = "9990000018"
MR = "9990000026"
Client = Callable[[str], tuple[TestClient, str]]


def _rows(url: str, model, *where):  # type: ignore[no-untyped-def]
    with session_factory(make_engine(url))() as s:
        return list(s.execute(select(model).where(*where)).scalars())


def test_pages_need_sign_in_and_redirect(app) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    for path in ("/app/", "/app/worklist", f"/app/people/{MRS}", "/app/mdt", "/app/population"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/app/sign-in?next=")
    assert c.get("/", follow_redirects=False).headers["location"] == "/app/"
    # The JSON API keeps its JSON errors.
    r = c.get(f"/people/{MRS}")
    assert r.status_code == 401 and r.json()["detail"].startswith("authentication")


def test_sign_in_errors_and_login_csrf(app) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    page = c.get("/app/sign-in")
    assert page.status_code == 200 and "Sign in to Careweave" in page.text
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/app/sign-in",
        data={"username": "coordinator", "password": "wrong password!", "login_csrf": token},
    )
    assert r.status_code == 401 and "Unknown username or wrong password" in r.text
    r = c.post(
        "/app/sign-in", data={"username": "coordinator", "password": "x", "login_csrf": "forged"}
    )
    assert r.status_code == 400 and "expired" in r.text
    assert "cw_session" not in c.cookies


def test_session_cookie_flags(app) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    page = c.get("/app/sign-in")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/app/sign-in",
        data={"username": "coordinator", "password": "careweave-demo-2026", "login_csrf": token},
        follow_redirects=False,
    )
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("cw_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


@pytest.mark.parametrize(("username", "role"), DEMO_USERS_ORDER)
def test_every_role_gets_a_home_page(client_for: Client, username: str, role: str) -> None:
    c, _ = client_for(username)
    r = c.get("/app/")
    assert r.status_code == 200
    assert "Sign out" in r.text
    if role == "analyst":
        assert "population pyramid" in r.text and "Worklist" not in r.text
    if username == "coordinator":
        assert "Telehealth alert" in r.text and "Unread notifications" in r.text
    if username == "case.manager":
        assert "My caseload" in r.text and "999 000 0018" in r.text


def test_post_without_csrf_is_refused(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    r = c.post(
        "/app/worklist/enrol", data={"nhs_number": MR, "reason": "x", "lead_professional_id": "1"}
    )
    assert r.status_code == 403 and "CSRF" in r.text


def test_worklist_filters_sort_csv_and_enrol(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("coordinator")
    r = c.get("/app/worklist")
    assert r.status_code == 200
    assert "999 000 0018" in r.text and "insulin-dependent diabetes" in r.text
    assert "On register" in r.text  # Mrs Jones is enrolled
    r = c.get("/app/worklist", params={"applied": 1, "level": 4, "telehealth_alert": 1})
    assert "999 000 0018" in r.text and "999 000 0026" not in r.text
    r = c.get(
        "/app/worklist",
        params={"applied": 1, "level": [4, 3], "not_case_managed": 1, "sort": "age", "dir": "asc"},
    )
    assert "999 000 0026" in r.text and "999 000 0018" not in r.text
    r = c.get("/app/worklist", params={"sort": "bogus"})
    assert r.status_code == 422 and "There is a problem" in r.text
    r = c.get("/app/worklist.csv", params={"level": [4, 3]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["nhs_number"] for row in rows} == {MRS, MR}
    assert next(row for row in rows if row["nhs_number"] == MRS)["case_managed"] == "yes"
    # The export takes the page's filters (one shared dependency) and refuses the same bad input.
    r = c.get("/app/worklist.csv", params={"level": [4, 3], "not_case_managed": 1})
    assert {row["nhs_number"] for row in csv.DictReader(io.StringIO(r.text))} == {MR}
    r = c.get("/app/worklist.csv", params={"dir": "sideways"})
    assert r.status_code == 422 and "dir" in r.text
    form = c.get("/app/worklist/enrol", params={"nhs_number": MR})
    assert form.status_code == 200 and "Accountable lead professional" in form.text
    r = c.post("/app/worklist/enrol", data={"csrf_token": csrf, "nhs_number": MR, "reason": ""})
    assert r.status_code == 422 and "Enter why" in r.text
    me = _rows(demo_db, User, User.username == "coordinator")[0]
    r = c.post(
        "/app/worklist/enrol",
        data={
            "csrf_token": csrf,
            "nhs_number": MR,
            "reason": "Dementia; carer at risk",
            "lead_professional_id": str(me.id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "is now on the case-management register" in c.get(r.headers["location"]).text


def test_worklist_refused_for_analyst(client_for: Client) -> None:
    c, _ = client_for("commissioner")
    assert c.get("/app/worklist").status_code == 403
    assert c.get("/app/worklist.csv").status_code == 403
    assert c.get(f"/app/people/{MRS}").status_code == 403


def test_patient_page_content(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    r = c.get(f"/app/people/{MRS}")
    assert r.status_code == 200
    for text in (
        "Care team",
        "Dr Gwen Price",
        "Care plan",
        "Version 1",
        "Timeline",
        "Risk score history",
        "Carer&#39;s assessment",
        '<svg class="cw-chart" id="chart-glucose"',
        "normal range",
    ):
        assert text in r.text, text
    assert c.get("/app/people/0000000000").status_code == 404


def test_no_relationship_means_break_glass(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("gp.elsewhere")
    r = c.get(f"/app/people/{MRS}")
    assert r.status_code == 403
    assert "You do not have a care relationship" in r.text and "Insulin" not in r.text
    r = c.post(f"/app/people/{MRS}/break-glass", data={"csrf_token": csrf, "reason": "short"})
    assert r.status_code == 422 and "at least 10 characters" in r.text
    r = c.post(
        f"/app/people/{MRS}/break-glass",
        data={"csrf_token": csrf, "reason": "Unconscious in A&E, need medication list"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert c.get(f"/app/people/{MRS}").status_code == 200
    grants = _rows(demo_db, BreakGlass, BreakGlass.nhs_number == MRS)
    assert grants and grants[-1].reviewed_at is None
    admin, admin_csrf = client_for("demo.admin")
    home = admin.get("/app/")
    assert "Unconscious in A&amp;E" in home.text and "Dr Tom Rees" in home.text
    assert (
        c.post(f"/app/break-glass/{grants[-1].id}/review", data={"csrf_token": csrf}).status_code
        == 403
    )
    r = admin.post(
        f"/app/break-glass/{grants[-1].id}/review",
        data={"csrf_token": admin_csrf, "note": "Confirmed with A&E"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        _rows(demo_db, BreakGlass, BreakGlass.id == grants[-1].id)[0].review_note
        == "Confirmed with A&E"
    )


def test_care_plan_edit_notifies_team(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("case.manager")
    form = c.get(f"/app/people/{MRS}/care-plan/edit")
    assert form.status_code == 200 and 'name="base_version" value="1"' in form.text
    data = {
        "csrf_token": csrf,
        "base_version": "1",
        "goal_text_0": "Stay well at home",
        "goal_date_0": "",
        "int_desc_0": "Specialist diabetes nurse visit",
        "int_org_0": "Community diabetes team",
        "int_role_0": "specialist_nurse",
        "int_due_0": "2027-01-10",
        "int_status_0": "planned",
        "cc_name_0": "",
        "crisis_plan": "Call rapid response",
        "step_status": "step_up",
        "review_date": "2027-02-01",
    }
    bad = dict(data, int_due_0="")
    r = c.post(f"/app/people/{MRS}/care-plan/edit", data=bad)
    assert r.status_code == 422 and "There is a problem" in r.text
    r = c.post(f"/app/people/{MRS}/care-plan/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    # The record then says, in an NHS.UK notification banner, who was told.
    after = c.get(r.headers["location"])
    banner = after.text.split('id="told"')[1].split("</div>\n</div>")[0]
    assert "Care plan saved" in banner and "Dr Gwen Price (GP)" in banner
    assert "Huw Morgan" not in banner  # the one who saved it
    history = c.get(f"/app/people/{MRS}/care-plan/versions")
    assert history.status_code == 200 and "Version 2: Huw Morgan" in history.text
    versions = _rows(demo_db, CarePlanVersion)
    assert max(v.version for v in versions) >= 2
    gp = _rows(demo_db, User, User.username == "gp.jones")[0]
    notes = _rows(
        demo_db,
        Notification,
        Notification.recipient_user_id == gp.id,
        Notification.kind == "care_plan",
    )
    assert any(n.subject.startswith("Huw Morgan (case manager) ") for n in notes)
    assert any("Mrs Jones's care plan" in n.subject for n in notes), [n.subject for n in notes]
    stale = c.post(f"/app/people/{MRS}/care-plan/edit", data=data)
    assert stale.status_code == 409


def test_referral_from_directory_and_assessment(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("coordinator")
    form = c.get(f"/app/people/{MRS}/referrals/new")
    assert form.status_code == 200 and "Specialist diabetes nursing" in form.text
    r = c.post(
        f"/app/people/{MRS}/referrals/new",
        data={"csrf_token": csrf, "service_id": "", "urgency": "", "reason": ""},
    )
    assert r.status_code == 422 and "Choose a service" in r.text
    r = c.post(
        f"/app/people/{MRS}/referrals/new",
        data={
            "csrf_token": csrf,
            "service_id": "diabetes-specialist-nursing",
            "urgency": "urgent",
            "reason": "Glucose unstable",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert any(
        x.service_id == "diabetes-specialist-nursing"
        for x in _rows(demo_db, Referral, Referral.nhs_number == MRS)
    )
    form = c.get(
        f"/app/people/{MRS}/assessments/new", params={"template_id": "home_environment_falls"}
    )
    assert form.status_code == 200 and "Overall falls risk" in form.text
    r = c.post(
        f"/app/people/{MRS}/assessments/new",
        data={
            "csrf_token": csrf,
            "template_id": "home_environment_falls",
            "falls_last_year": "lots",
            "home_hazards": "some",
            "falls_risk": "high",
        },
    )
    assert r.status_code == 422 and "number" in r.text
    r = c.post(
        f"/app/people/{MRS}/assessments/new",
        data={
            "csrf_token": csrf,
            "template_id": "home_environment_falls",
            "falls_last_year": "2",
            "home_hazards": "some",
            "falls_risk": "high",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert any(
        x.service_id == "falls-service"
        for x in _rows(demo_db, Referral, Referral.nhs_number == MRS)
    )
    assert (
        c.get(f"/app/people/{MRS}/assessments/new", params={"template_id": "nope"}).status_code
        == 404
    )


def test_mdt_meeting_decision_becomes_task(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("case.manager")
    assert c.get("/app/mdt").status_code == 200
    r = c.post("/app/mdt", data={"csrf_token": csrf, "title": "", "held_at": "x", "agenda": "123"})
    assert r.status_code == 422 and "Enter a title" in r.text
    me = _rows(demo_db, User, User.username == "case.manager")[0]
    r = c.post(
        "/app/mdt",
        data={
            "csrf_token": csrf,
            "title": "Locality MDT",
            "held_at": "2026-11-20T10:00",
            "agenda": f"{MRS}\n",
            "attendees": [str(me.id)],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    page = c.get(url)
    assert page.status_code == 200 and "999 000 0018" in page.text
    r = c.post(
        url + "/decisions",
        data={
            "csrf_token": csrf,
            "nhs_number": MRS,
            "decision": "Step up: daily calls",
            "action_title": "Arrange respite for Mr Jones",
            "action_owner": str(me.id),
            "action_due": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Arrange respite for Mr Jones" in c.get(url).text
    assert _rows(demo_db, Task, Task.title == "Arrange respite for Mr Jones")
    other, _ = client_for("gp.elsewhere")
    assert other.get(url).status_code == 403


def test_population_pages_pseudonymised_and_suppressed(client_for: Client) -> None:
    c, _ = client_for("commissioner")
    for path in (
        "/app/population",
        "/app/population?by=cluster",
        "/app/population?by=practice",
        "/app/population/segments",
        "/app/population/movement",
        "/app/population/evaluation",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        assert "999 000" not in r.text and MRS not in r.text
    r = c.get("/app/population")
    assert "&lt;8" in r.text and '<svg class="cw-chart" id="chart-pyramid"' in r.text
    gp, _ = client_for("gp.jones")
    assert gp.get("/app/population").status_code == 403


def test_directory_is_public(app) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    r = c.get("/app/directory", params={"q": "falls"})
    assert r.status_code == 200
    assert "Community falls service" in r.text and "Rapid response team" not in r.text
    assert "Sign out" not in r.text
    assert c.get("/app/directory", params={"locality": "bad value!"}).status_code == 422


def test_tasks_and_notifications_actions(client_for: Client, demo_db: str) -> None:
    c, csrf = client_for("coordinator")
    me = _rows(demo_db, User, User.username == "coordinator")[0]
    with session_factory(make_engine(demo_db)).begin() as s:
        s.add(
            Notification(
                recipient_user_id=me.id,
                nhs_number=MRS,
                kind="event:admission",
                subject="Admitted to hospital",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    unread = _rows(
        demo_db,
        Notification,
        Notification.recipient_user_id == me.id,
        Notification.read_at.is_(None),
    )
    assert unread
    r = c.post(
        f"/app/notifications/{unread[0].id}/read", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    # With htmx the row is swapped out in place (no redirect): the fragment holds only the
    # counts it changed, swapped out of band.
    r = c.post(
        f"/app/notifications/{unread[1].id}/read",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
        follow_redirects=False,
    )
    assert r.status_code == 200
    assert f'<span id="count-notifications" hx-swap-oob="true">{len(unread) - 2}</span>' in r.text
    assert "<tr" not in r.text
    assert (
        len(
            _rows(
                demo_db,
                Notification,
                Notification.recipient_user_id == me.id,
                Notification.read_at.is_(None),
            )
        )
        == len(unread) - 2
    )
    other = _rows(demo_db, Notification, Notification.recipient_user_id != me.id)[0]
    assert (
        c.post(f"/app/notifications/{other.id}/read", data={"csrf_token": csrf}).status_code == 404
    )
    assert c.get("/assets/nhsuk-frontend.min.css").status_code == 200
    assert c.get("/assets/images/nhsuk-icon-arrow-down.svg").status_code == 200
