"""Errors in the NHS.UK patterns: a summary linking to each field, an inline message per
field naming it as labelled, every error at once; error pages keep the header, account and
navigation; bad addresses are explained in words, never with a regular expression."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from careweave.web.errors import validation_message

MRS = "9990000018"
Client = Callable[[str], tuple[TestClient, str]]


def _summary_links(html: str) -> list[tuple[str, str]]:
    """(field id, message) for every linked entry of the error summary."""
    assert 'class="nhsuk-error-summary"' in html
    body = html.split('nhsuk-error-summary__list">')[1].split("</ul>")[0]
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', body)


def _inline(html: str, field: str) -> str:
    m = re.search(
        rf'id="{re.escape(field)}-error"><span class="nhsuk-u-visually-hidden">'
        rf"Error:</span> ([^<]+)</span>",
        html,
    )
    assert m, f"no inline error for {field}"
    return m[1]


def _assert_pattern(html: str) -> list[tuple[str, str]]:
    """Every summary entry links to a field on the page that carries the same message."""
    links = _summary_links(html)
    assert links
    for field, message in links:
        assert f'id="{field}"' in html, field
        target = field.rsplit("-", 1)[0] if field.endswith("-1") else field
        assert _inline(html, target) == message, field
    assert "^" not in html.split("<main")[1] or "pattern" not in html
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
    assert [f for f, _ in _summary_links(r.text)] == ["title", "held_at", "agenda"]
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
