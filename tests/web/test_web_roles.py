"""Role-shaped pages: each role lands on what it works on, and htmx actions update every
count they affect."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import Service, User
from careweave.web.demo import DEMO_PASSWORD

MRS = "9990000018"
Client = Callable[[str], tuple[TestClient, str]]


def _sign_in_lands(app, username: str) -> str:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        page = c.get("/app/sign-in")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token is not None
        r = c.post(
            "/app/sign-in",
            data={"username": username, "password": DEMO_PASSWORD, "login_csrf": token[1]},
            follow_redirects=False,
        )
        assert r.status_code == 303
        return str(r.headers["location"])


def test_each_role_lands_on_what_it_works_on(app) -> None:  # type: ignore[no-untyped-def]
    assert _sign_in_lands(app, "commissioner") == "/app/population"
    assert _sign_in_lands(app, "home.care") == "/app/"
    assert _sign_in_lands(app, "gp.jones") == "/app/"


def test_home_care_provider_sees_todays_visits_and_clients(client_for: Client) -> None:
    c, _ = client_for("home.care")
    r = c.get("/app/")
    assert r.status_code == 200
    visits = r.text.split('id="visits"')[1].split('id="clients"')[0]
    assert "Morning and evening home-care visits" in visits
    assert "JONES, Margaret (Mrs)" in visits
    clients = r.text.split('id="clients"')[1].split("</ul>")[0]
    assert "JONES, Margaret (Mrs)" in clients
    assert 'href="/app/#clients"' in r.text and ">Worklist<" not in r.text
    r = c.get("/app/worklist", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/#clients"


def test_service_contact_sees_referrals_to_their_service(  # type: ignore[no-untyped-def]
    app, client_for: Client, demo_db: str
) -> None:
    with transaction(session_factory(make_engine(demo_db))) as s:
        nurse = s.execute(select(User).where(User.username == "nurse.diabetes")).scalar_one()
        svc = s.get(Service, "diabetes-specialist-nursing")
        assert svc is not None
        svc.contact_user_id = nurse.id
    c, csrf = client_for("coordinator")
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
    assert _sign_in_lands(app, "nurse.diabetes") == "/app/referrals"  # their service's inbox
    nurse_client, _ = client_for("nurse.diabetes")
    home = nurse_client.get("/app/")
    section = home.text.split('id="service-referrals"')[1]
    assert "Referrals to your service (" in home.text
    assert 'href="/app/referrals">Open your service' in home.text
    assert "JONES, Margaret (Mrs)" in section and "Specialist diabetes nursing" in section


def test_htmx_actions_update_every_count_they_affect(client_for: Client) -> None:
    c, csrf = client_for("coordinator")
    home = c.get("/app/")
    unread = int(re.search(r'id="count-notifications">(\d+)<', home.text)[1])  # type: ignore[index]
    assert unread >= 1
    first = re.search(r'hx-post="/app/notifications/(\d+)/read"', home.text)
    assert first is not None
    r = c.post(
        f"/app/notifications/{first[1]}/read",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert f'<span id="count-notifications" hx-swap-oob="true">{unread - 1}</span>' in r.text
    tasks = int(re.search(r'id="count-tasks">(\d+)<', home.text)[1])  # type: ignore[index]
    assert f'<span id="count-tasks" hx-swap-oob="true">{tasks}</span>' in r.text
    # Without JavaScript the same form posts and redirects.
    second = re.findall(r'hx-post="/app/notifications/(\d+)/read"', home.text)
    if len(second) > 1:
        r = c.post(
            f"/app/notifications/{second[1]}/read",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303


def test_worklist_offers_enrolment_only_to_those_who_may_enrol(
    client_for: Callable[[str], tuple[TestClient, str]],
) -> None:
    """A social worker may read the worklist but not put people on the register: no
    Enrol link (it would lead to a 403); the co-ordinator has it."""
    sw, _ = client_for("social.worker")
    page = sw.get("/app/worklist", params={"applied": "1", "level": ["3", "4"]})
    assert page.status_code == 200
    assert "/app/worklist/enrol?" not in page.text
    cc, _ = client_for("coordinator")
    page = cc.get("/app/worklist", params={"applied": "1", "level": ["3", "4"]})
    assert "/app/worklist/enrol?" in page.text


def test_commissioner_finds_the_maturity_matrices_in_the_menu(
    client_for: Callable[[str], tuple[TestClient, str]],
) -> None:
    """The self-assessment is the commissioner's work: it is in the header's menu."""
    c, _ = client_for("commissioner")
    home = c.get("/app/")
    assert 'href="/app/maturity"' in home.text
    assert c.get("/app/maturity").status_code == 200
