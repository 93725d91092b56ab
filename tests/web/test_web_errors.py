"""Errors in the NHS.UK patterns: a summary linking to each field, an inline message per
field naming it as labelled, every error at once; error pages keep the header, account and
navigation; bad addresses are explained in words, never with a regular expression."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import BreakGlass, User
from careweave.web import render
from careweave.web.errors import validation_message

MRS = "9990000018"
MR = "9990000026"
Client = Callable[[str], tuple[TestClient, str]]


def _summary_links(html: str) -> list[tuple[str, str]]:
    """(field id, message) for every linked entry of the error summary."""
    assert 'class="nhsuk-error-summary"' in html
    body = html.split('nhsuk-error-summary__list">')[1].split("</ul>")[0]
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', body)


def _inline(html: str, field: str) -> str:
    """The inline message of a field; for a radio or checkbox group linked by its first
    item (``service-<id>``, ``outcome-1``), the group's (``service``, ``outcome``)."""
    parts = field.split("-")
    for n in range(len(parts), 0, -1):
        m = re.search(
            rf'id="{re.escape("-".join(parts[:n]))}-error"><span class="nhsuk-u-visually-hidden">'
            rf"Error:</span> ([^<]+)</span>",
            html,
        )
        if m:
            return m[1]
    raise AssertionError(f"no inline error for {field}")


# What a person must never read on a page: pydantic's and FastAPI's words, patterns and
# the domain's field paths.
DEVELOPER_TEXT = (
    "Input should",
    "String should",
    "Field required",
    "should match pattern",
    "^(",
    "value_error",
    "type_error",
    "[0].",
    "owner_user_id",
    "related_nhs_number:",
    "nhs_number:",
    "role &#39;",
)


def _main(html: str) -> str:
    return html.split("<main")[1].split("</main>")[0]


def _assert_pattern(html: str) -> list[tuple[str, str]]:
    """Every summary entry links to a field on the page that carries the same message,
    and nothing on the page is developer text."""
    links = _summary_links(html)
    assert links
    for field, message in links:
        assert f'id="{field}"' in html, field
        assert _inline(html, field) == message, field
    main = _main(html)
    for text in DEVELOPER_TEXT:
        assert text not in main, text
    return links


def test_care_plan_errors_name_the_row_and_come_all_at_once(client_for: Client) -> None:
    c, csrf = client_for("coordinator")
    page = c.get(f"/app/people/{MRS}/care-plan/edit")
    base = re.search(r'name="base_version" value="(\d*)"', page.text)
    assert base is not None
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    data = {
        "csrf_token": csrf,
        "base_version": base[1],
        "goal_text_0": "Stay at home",
        "goal_date_0": "",
        "goal_text_1": "",
        "goal_date_1": "2027-02-30",
        # Intervention 4 half filled: what and who, no due date.
        **{f"int_{k}_{i}": "" for i in range(4) for k in ("desc", "org", "due")},
        **{f"int_role_{i}": "gp" for i in range(4)},
        **{f"int_status_{i}": "planned" for i in range(4)},
        "int_desc_3": "Night sitter twice a week",
        "int_org_3": "Crossroads Care",
        "cc_name_0": "Daughter",
        "cc_rel_0": "",
        "cc_phone_0": "call her",
        "crisis_plan": "",
        "step_status": "stable",
        "review_date": yesterday,
    }
    r = c.post(f"/app/people/{MRS}/care-plan/edit", data=data)
    assert r.status_code == 422
    links = dict(_assert_pattern(r.text))
    assert links["int_due_3"] == "Intervention 4: enter the due date"
    assert links["goal_date_1"] == "Goal 2 target date must be a real date, like 23 11 2026"
    assert links["goal_text_1"].startswith("Goal 2: enter what the person wants to achieve")
    assert links["cc_rel_0"] == "Crisis contact 1: enter their relationship"
    assert links["cc_phone_0"].startswith("Crisis contact 1 phone must be a telephone number")
    assert links["review_date"] == "Review date must be today or in the future"
    assert "Input should be" not in r.text and "interventions 3" not in r.text
    # What was typed is kept, so nothing is lost.
    assert 'value="Night sitter twice a week"' in r.text
    data |= {
        "goal_date_1": "",
        "int_due_3": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "cc_rel_0": "daughter",
        "cc_phone_0": "07700 900123",
        "review_date": (dt.date.today() + dt.timedelta(days=90)).isoformat(),
    }
    r = c.post(f"/app/people/{MRS}/care-plan/edit", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]


def test_referral_and_assessment_forms_list_every_error(client_for: Client) -> None:
    c, csrf = client_for("coordinator")
    r = c.post(
        f"/app/people/{MRS}/referrals/new",
        data={"csrf_token": csrf, "service_id": "", "urgency": "", "reason": ""},
    )
    assert r.status_code == 422
    links = _summary_links(r.text)
    assert [f for f, _ in links][1:] == ["urgency-urgent", "reason"]
    assert links[0][0].startswith("service-")
    assert _inline(r.text, "reason") == "Enter the reason for referral"
    r = c.post(
        f"/app/people/{MRS}/assessments/new",
        data={"csrf_token": csrf, "template_id": "home_environment_falls", "falls_last_year": "x"},
    )
    assert r.status_code == 422
    links = dict(_summary_links(r.text))
    assert len(links) >= 2  # the number and the unanswered questions, all at once
    assert any(f == "falls_last_year" and "enter a whole number" in m for f, m in links.items())


def test_mdt_decision_with_half_an_action_is_an_error(client_for: Client) -> None:
    c, csrf = client_for("case.manager")
    r = c.post(
        "/app/mdt",
        data={"csrf_token": csrf, "title": "", "held_at": "soon", "agenda": "12345"},
    )
    assert r.status_code == 422
    assert [f for f, _ in _summary_links(r.text)] == ["title", "held_at"]
    # The agenda is never typed (people are added from their pages): a forged one is
    # reported without a field to link to.
    assert "Agenda: reload the page and add the people again" in r.text
    r = c.post(
        "/app/mdt",
        data={
            "csrf_token": csrf,
            "title": "Errors MDT",
            "held_at": "2026-12-10T10:00",
            "agenda": MRS,
        },
        follow_redirects=False,
    )
    meeting = r.headers["location"]
    default_due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    r = c.post(
        f"{meeting}/decisions",
        data={
            "csrf_token": csrf,
            "nhs_number": MRS,
            "decision": "",
            "action_title": "",
            "action_due": "2020-01-01",
            "default_due": default_due,
            "action_owner": "",
        },
    )
    assert r.status_code == 422
    fields = [f for f, _ in _summary_links(r.text)]
    assert fields == ["decision", "action_due", "action_title", "action_owner"]


def test_error_pages_keep_the_header_account_and_navigation(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    r = c.get("/app/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text and "We cannot find the page" in r.text
    assert "Carys Evans" in r.text and "Sign out" in r.text  # account
    assert 'class="nhsuk-header__navigation-list"' in r.text and "Worklist" in r.text
    assert '"detail"' not in r.text
    analyst, _ = client_for("commissioner")
    r = analyst.get("/app/worklist")
    assert r.status_code == 403
    assert "Your role (Commissioner / analyst) cannot see the worklist and register." in r.text
    assert "role &#39;analyst&#39;" not in r.text and "Alex Jenkins" in r.text
    r = c.get("/app/people/9434765919")
    assert r.status_code == 404 and "No one with NHS number 943 476 5919" in r.text


def test_signed_out_error_page_offers_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        r = c.get("/app/directory/nothing-here")
        assert r.status_code == 404 and "Sign in" in r.text and "Sign out" not in r.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sort": "name"}, "Sort by must be risk, level, age or NHS number"),
        ({"dir": "up"}, "Order must be lowest first or highest first"),
        ({"page": "0"}, "Page must be 1 or more"),
        ({"page": "two"}, "Page must be a whole number"),
        ({"level": "high"}, "CCM level must be a whole number"),
    ],
)
def test_bad_query_parameters_are_explained_in_words(
    client_for: Client, query: dict[str, str], message: str
) -> None:
    c, _ = client_for("coordinator")
    r = c.get("/app/worklist", params=query)
    assert r.status_code == 422
    main = r.text.split("<main")[1]
    assert message in main
    assert "^(" not in main and "should match pattern" not in main.lower()
    assert '<a href="/app/worklist">Open the page without those options</a>' in main


def test_a_crash_is_a_500_page_in_the_design_system(
    app, client_for: Client, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from careweave.web.pages import home

    def boom(_: object) -> None:
        raise RuntimeError("something secret about Margaret")

    monkeypatch.setattr(home, "breaching", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        from web_helpers import sign_in

        sign_in(c, "coordinator")  # finds its CSRF token on the error page's account bar
        r = c.get("/app/")
        assert r.status_code == 500
        assert "Sorry, there is a problem with the service" in r.text
        assert "Margaret" not in r.text and "Sign out" in r.text


def test_validation_message_never_shows_a_pattern() -> None:
    err = {
        "loc": ("query", "sort"),
        "type": "string_pattern_mismatch",
        "ctx": {"pattern": "^(risk|level)$"},
    }
    assert validation_message(err) == "Sort by must be risk or level"
    err = {
        "loc": ("query", "q"),
        "type": "string_pattern_mismatch",
        "ctx": {"pattern": "^[A-Za-z0-9 _+:./-]*$"},
    }
    assert validation_message(err) == "Search is not in the expected form"


# ------------------------------------------------- every form in the templates, enumerated

TEMPLATES = Path(render.__file__).parent / "templates"
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
GUEST = "guest"  # a case run signed out


def forms_in_templates() -> dict[str, str]:
    """'template.html ACTION #n' -> the form's markup, for every <form> in the templates
    (template expressions in the action written as *)."""
    out: dict[str, str] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        seen: Counter[str] = Counter()
        for attrs, body in FORM.findall(path.read_text()):
            m = re.search(r'action="([^"]*)"', attrs)
            assert m, f"{path.name}: a form without an action"
            key = f"{path.name} {re.sub(r'{{.*?}}', '*', m[1])}"
            seen[key] += 1
            out[f"{key} #{seen[key]}"] = body
    return out


def fills_in(body: str) -> bool:
    """Whether a form has a field a person fills in (not only hidden inputs and a button)."""
    if re.search(r"<(select|textarea)\b|\{\{\s*(input|textarea|select)\(", body):
        return True
    types = re.findall(r"<input\b[^>]*?type=\"([a-z-]+)\"", body)
    return any(t not in ("hidden", "submit") for t in types)


# Forms with nothing to fill in: a button and hidden fields. What can go wrong is the
# action itself (already done, changed by someone else, refused), shown in words on the
# page or its error page, never a field error.
BUTTONS = {
    "_relationships.html /app/people/*/relationships/*/end #1": "end a carer/family link",
    "base.html /app/sign-out #1": "sign out",
    "home.html /app/notifications/*/read #1": "mark a notification read",
    "home.html /app/tasks/* #1": "mark a task done",
    "referral.html /app/referrals/* #1": "accept, triage, record seen, complete",
    "users.html /app/users/*/unlock #1": "unlock an account",
    "users.html /app/users/*/revoke-tokens #1": "revoke API tokens",
    "outbox.html /app/outbox/*/retry #1": "send a failed message again",
}

# Filters made of choices (GET): a bad value can only come from an edited address, and is
# explained in words on the error page with the way back to the plain page.
FILTERS = {
    "worklist.html /app/worklist #1": ("coordinator", "/app/worklist", {"sort": "name"}),
    "population.html /app/population #1": ("commissioner", "/app/population", {"by": "ward"}),
    "_kpis_body.html /app/population/kpis #1": (
        "commissioner",
        "/app/population/kpis",
        {"from": "December"},
    ),
    "_funnel_body.html /app/population/funnel #1": (
        "commissioner",
        "/app/population/funnel",
        {"by": "ward"},
    ),
    "benchmark.html /app/population/benchmark #1": (
        "commissioner",
        "/app/population/benchmark",
        {"by": "ward"},
    ),
    "capacity.html /app/population/capacity #1": (
        "commissioner",
        "/app/population/capacity",
        {"area": "NOWHERE"},
    ),
    "unmet_need.html /app/population/unmet-need #1": (
        "commissioner",
        "/app/population/unmet-need",
        {"months": "forever"},
    ),
    "needs.html /app/population/needs #1": (
        "commissioner",
        "/app/population/needs",
        {"area": "NOWHERE"},
    ),
    "evaluation.html /app/population/evaluation #1": (
        "commissioner",
        "/app/population/evaluation",
        {"intervention": "astrology"},
    ),
    "finance.html /app/population/finance#by #1": (
        "commissioner",
        "/app/population/finance",
        {"by": "ward"},
    ),
    "patient.html /app/people/*#timeline #1": (
        "coordinator",
        f"/app/people/{MRS}",
        {"period": "forever-and-ever"},
    ),
}

Case = Callable[[Client, str], tuple[object, list[str]]]
CASES: dict[str, Case] = {}


def case(*keys: str) -> Callable[[Case], Case]:
    def register(f: Case) -> Case:
        for key in keys:
            CASES[key] = f
        return f

    return register


def _post(c: TestClient, url: str, data: dict[str, object]) -> object:
    return c.post(url, data=data, follow_redirects=False)


@case("search.html /app/search #1", "base.html /app/search #1")
def _search(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, _ = client_for("gp.jones")
    return c.get("/app/search", params={"q": "Jones 31/2/1941"}), ["search-q"]


@case("directory.html /app/directory #1")
def _directory(client_for: Client, db: str) -> tuple[object, list[str]]:
    with TestClient(client_for("coordinator")[0].app) as guest:  # no sign-in needed
        r = guest.get("/app/directory", params={"q": "x" * 101, "locality": "NOWHERE"})
    return r, ["q", "locality"]


@case("signin.html /app/sign-in #1")
def _sign_in(client_for: Client, db: str) -> tuple[object, list[str]]:
    with TestClient(client_for("coordinator")[0].app) as guest:
        page = guest.get("/app/sign-in")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token
        r = guest.post(
            "/app/sign-in", data={"username": "", "password": "", "login_csrf": token[1]}
        )
    return r, ["username", "password"]


@case("_relationships.html /app/people/*/relationships #1")
def _relationship(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    r = _post(
        c,
        f"/app/people/{MRS}/relationships",
        {"csrf_token": csrf, "relationship": "landlord", "related_nhs_number": "12"},
    )
    return r, ["relationship", "related_nhs_number"]


@case("assessment_new.html /app/people/*/assessments/new #1")
def _assessment(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    r = _post(
        c,
        f"/app/people/{MRS}/assessments/new",
        {"csrf_token": csrf, "template_id": "home_environment_falls", "falls_last_year": "x"},
    )
    return r, ["falls_last_year"]


@case("care_plan_edit.html /app/people/*/care-plan/edit #1")
def _care_plan(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    page = c.get(f"/app/people/{MRS}/care-plan/edit").text
    base = re.search(r'name="base_version" value="(\d*)"', page)
    data = {"csrf_token": csrf, "base_version": base[1] if base else "", "goal_text_0": ""}
    data |= {"goal_date_0": "2027-02-30", "step_status": "stable", "review_date": ""}
    return _post(c, f"/app/people/{MRS}/care-plan/edit", data), ["goal_date_0", "review_date"]


@case("referral_new.html /app/people/*/referrals/new #1")
def _referral_new(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "service_id": "", "urgency": "", "reason": ""}
    r = _post(c, f"/app/people/{MRS}/referrals/new", data)
    return r, ["service-", "urgency-urgent", "reason"]


@case("enrol.html /app/worklist/enrol #1")
def _enrol(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "nhs_number": MR, "reason": "", "lead_professional_id": "x"}
    return _post(c, "/app/worklist/enrol", data), ["reason", "lead_professional_id"]


@case("break_glass.html /app/people/*/break-glass #1")
def _break_glass(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("gp.elsewhere")
    return _post(c, f"/app/people/{MRS}/break-glass", {"csrf_token": csrf, "reason": "A&E"}), [
        "reason"
    ]


@case("home.html /app/break-glass/*/review #1")
def _review(client_for: Client, db: str) -> tuple[object, list[str]]:
    gp, gp_csrf = client_for("gp.elsewhere")
    reason = "Collapsed at the surgery, need her medicines"
    _post(gp, f"/app/people/{MRS}/break-glass", {"csrf_token": gp_csrf, "reason": reason})
    with session_factory(make_engine(db))() as s:
        grant = max(s.execute(select(BreakGlass.id)).scalars())
    admin, csrf = client_for("demo.admin")
    r = _post(admin, f"/app/break-glass/{grant}/review", {"csrf_token": csrf, "note": "n" * 2001})
    return r, [f"note-{grant}"]


@case("mdt_list.html /app/mdt #1")
def _mdt(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("case.manager")
    r = _post(c, "/app/mdt", {"csrf_token": csrf, "title": "", "held_at": "soon", "agenda": "1"})
    # The agenda is never typed: a forged one is said in words, with no field to link to.
    return r, ["title", "held_at"]


@case("mdt_add.html /app/mdt/add #1")
def _mdt_add(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("case.manager")
    _post(
        c,
        "/app/mdt",
        {"csrf_token": csrf, "title": "Add", "held_at": "2027-12-10T10:00", "agenda": MRS},
    )
    return _post(c, "/app/mdt/add", {"csrf_token": csrf, "nhs_number": MRS}), ["meeting-0"]


@case("mdt_meeting.html /app/mdt/*/attendees #1")
def _mdt_invite(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("case.manager")
    meeting = _post(
        c,
        "/app/mdt",
        {"csrf_token": csrf, "title": "Invite", "held_at": "2027-12-10T10:00", "agenda": MRS},
    )
    url = meeting.headers["location"]  # type: ignore[attr-defined]
    return _post(c, f"{url}/attendees", {"csrf_token": csrf}), ["invite-0"]


@case("discharge_plan.html /app/people/*/discharge #1")
def _discharge(client_for: Client, db: str) -> tuple[object, list[str]]:
    from careweave.care import config as care_config
    from careweave.care import discharge, events
    from careweave.care.context import Ctx, system_user
    from careweave.store.db import transaction

    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        plan = discharge.current(s, MRS)
        if plan is None or plan.discharged_at is not None:
            now = dt.datetime.now(dt.UTC)
            feed = Ctx(session=s, user=system_user(s, now), now=now, config=care_config.load(None))
            events.ingest(feed, MRS, "admission", now - dt.timedelta(hours=1), {})
    engine.dispose()
    c, csrf = client_for("coordinator")
    page = c.get(f"/app/people/{MRS}/discharge").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    data = {
        "csrf_token": csrf,
        "version": version[1],
        "expected_discharge_date": "2026-02-30",
        "action": "discharge",
    }
    return _post(c, f"/app/people/{MRS}/discharge", data), [
        "expected_discharge_date",
        "package_decision-restart",
    ]


@case("mdt_meeting.html /app/mdt/*/decisions #1")
def _decision(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("case.manager")
    meeting = _post(
        c,
        "/app/mdt",
        {"csrf_token": csrf, "title": "Forms", "held_at": "2026-12-10T10:00", "agenda": MRS},
    )
    url = meeting.headers["location"]  # type: ignore[attr-defined]
    with session_factory(make_engine(db))() as s:
        stranger = s.execute(select(User.id).where(User.username == "demo.admin")).scalar_one()
    # An owner with no relationship with the person: the domain's refusal, at its field.
    data = {"csrf_token": csrf, "nhs_number": MRS, "decision": "Review medicines"}
    data |= {"action_title": "Call her", "action_due": "2099-01-01", "default_due": "x"}
    data |= {"action_owner": str(stranger)}
    return _post(c, f"{url}/decisions", data), ["action_owner"]


def _referral(client_for: Client) -> tuple[TestClient, str, str]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "service_id": "diabetes-specialist-nursing"}
    data |= {"urgency": "routine", "reason": "Forms check"}
    assert _post(c, f"/app/people/{MRS}/referrals/new", data).status_code == 303  # type: ignore[attr-defined]
    nurse, n_csrf = client_for("nurse.diabetes")
    inbox = nurse.get("/app/referrals").text
    rid = max(int(x) for x in re.findall(r'href="/app/referrals/(\d+)"', inbox))
    return nurse, n_csrf, f"/app/referrals/{rid}"


def _version(page: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', page)
    assert m
    return m[1]


@case("referral.html /app/referrals/* #2")
def _referral_steps(client_for: Client, db: str) -> tuple[object, list[str]]:
    """Decline without a reason, then (accepted) a booking with nothing sensible in it."""
    nurse, csrf, url = _referral(client_for)
    page = nurse.get(url).text
    declined = _post(
        nurse, url, {"csrf_token": csrf, "version": _version(page), "status": "declined"}
    )
    assert declined.status_code == 422  # type: ignore[attr-defined]
    assert [f for f, _ in _assert_pattern(declined.text)] == ["decline_reason"]  # type: ignore[attr-defined]
    redirect = _post(
        nurse, url, {"csrf_token": csrf, "version": _version(page), "status": "redirected"}
    )
    assert [f for f, _ in _assert_pattern(redirect.text)] == ["redirect_to"]  # type: ignore[attr-defined]
    _post(nurse, url, {"csrf_token": csrf, "version": _version(page), "status": "accepted"})
    page = nurse.get(url).text
    data = {"csrf_token": csrf, "version": _version(page), "status": "scheduled"}
    data |= {"visit_date": "2020-01-01", "visit_time": "25:00", "booked_with": ""}
    return _post(nurse, url, data), ["visit_date", "visit_time", "booked_with"]


@case("users.html /app/users/*/deactivate #1")
def _deactivate(client_for: Client, db: str) -> tuple[object, list[str]]:
    with session_factory(make_engine(db))() as s:
        uid = s.execute(select(User.id).where(User.username == "gp.elsewhere")).scalar_one()
    admin, csrf = client_for("demo.admin")
    r = _post(admin, f"/app/users/{uid}/deactivate", {"csrf_token": csrf, "confirm": "gp"})
    return r, [f"confirm-{uid}"]


@case("incident.html /app/incidents/* #1")
def _incident(client_for: Client, db: str) -> tuple[object, list[str]]:
    from test_web_carer import joneses
    from test_web_incidents import alarm, version

    mrs, _, token = joneses(db)
    cc, csrf = client_for("control.centre")
    inc = alarm(cc, token, mrs, 5)
    page = cc.get(f"/app/incidents/{inc}").text
    data = {"csrf_token": csrf, "version": version(page), "status": "dispatched"}
    return _post(cc, f"/app/incidents/{inc}", data | {"responder": "someone"}), ["responder"]


@case("account_alerts.html /app/account/alerts #1")
def _alerts(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "phone": "call me", "email": "not an address"}
    return _post(c, "/app/account/alerts", data), []


@case("contact_edit.html /app/people/*/contacts/* #1")
def _contact(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("coordinator")
    data = {"csrf_token": csrf, "name": "", "relationship": "", "email": "nope", "phone": "x"}
    return _post(c, f"/app/people/{MRS}/contacts/new", data), []


@case("maturity_new.html /app/maturity/new #1")
def _maturity_new(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("commissioner")
    data = {"csrf_token": csrf, "matrix": "", "org_id": "", "assessed_on": "2026-13-01"}
    return _post(c, "/app/maturity/new", data), ["matrix", "org_id", "assessed_on"]


def _draft(c: TestClient) -> tuple[int, str]:
    """The demo's draft self-assessment and one of its elements."""
    page = c.get("/app/maturity/2").text
    element = re.search(r'href="/app/maturity/2/elements/([a-z0-9-]+)"', page)
    assert element, "the demo's draft assessment has no elements to rate"
    return 2, element[1]


@case("maturity_element_edit.html /app/maturity/*/elements/* #1")
def _maturity_element(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("commissioner")
    aid, element = _draft(c)
    form = c.get(f"/app/maturity/{aid}/elements/{element}").text
    base = re.search(r'name="base_version" value="(\d+)"', form)
    assert base
    data = {"csrf_token": csrf, "base_version": base[1], "stage": "transcendent"}
    return _post(c, f"/app/maturity/{aid}/elements/{element}", data), ["stage-"]


@case("maturity_assessment.html /app/maturity/*/agree #1")
def _maturity_agree(client_for: Client, db: str) -> tuple[object, list[str]]:
    c, csrf = client_for("commissioner")
    aid, _ = _draft(c)
    page = c.get(f"/app/maturity/{aid}").text
    v = re.findall(r'name="base_version" value="(\d+)"', page)[-1]
    data = {"csrf_token": csrf, "base_version": v, "sig_name_0": "", "sig_role_0": "Chair"}
    return _post(c, f"/app/maturity/{aid}/agree", data), ["sig_name_0"]


def test_every_form_is_covered() -> None:
    """A new form must be added here: to CASES with the test of its error pattern, to
    FILTERS (choice-only GET filters) or to BUTTONS (nothing to fill in)."""
    forms = forms_in_templates()
    known = set(CASES) | set(FILTERS) | set(BUTTONS)
    assert set(forms) - known == set(), "forms with no error-pattern test"
    assert known - set(forms) == set(), "cases for forms that no longer exist"
    for key in BUTTONS:
        assert not fills_in(forms[key]), f"{key} has fields: give it a case"
    for key in CASES:
        assert fills_in(forms[key]) or key.startswith("base.html"), key


@pytest.mark.parametrize("key", sorted(CASES))
def test_form_errors_follow_the_nhs_pattern(key: str, client_for: Client, demo_db: str) -> None:
    """Each form, given bad input, answers 4xx with the error summary linking to every field
    in error (all at once), the same words inline at each, and no developer text."""
    r, fields = CASES[key](client_for, demo_db)
    assert r.status_code in (400, 409, 422), (key, r.status_code)  # type: ignore[attr-defined]
    links = _assert_pattern(r.text)  # type: ignore[attr-defined]
    linked = [f for f, _ in links]
    for field in fields:
        assert any(f == field or f.startswith(field) for f in linked if field), (key, linked)
    assert len(linked) >= len(fields), (key, linked)


@pytest.mark.parametrize("key", sorted(FILTERS))
def test_filter_forms_explain_a_bad_address(key: str, client_for: Client) -> None:
    username, path, params = FILTERS[key]
    c, _ = client_for(username)
    r = c.get(path, params=params)
    assert r.status_code in (200, 422), (key, r.status_code)
    main = _main(r.text)
    for text in DEVELOPER_TEXT:
        assert text not in main, (key, text)
    if r.status_code == 422:  # explained, with the way back; else it fell back
        assert 'class="nhsuk-error-summary"' in main, key
        assert f'<a href="{path}">Open the page without those options</a>' in main, key
