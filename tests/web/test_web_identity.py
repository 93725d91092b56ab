"""Who the person is: the banner on person pages and lists, search within legitimate
relationships, and no identity in anything an analyst sees."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import demo_store, sign_in

from careweave.dataset.nhs_number import synthetic_numbers
from careweave.security import access
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import AuditEntry, Event, Incident, Objection, Person, User
from careweave.web import search as finder

MRS = "9990000018"
MR = "9990000026"
TODAY = dt.date(2026, 12, 1)
EXTRA = synthetic_numbers(5)[2:]  # after the Joneses' 9990000018 and 9990000026
Client = Callable[[str], tuple[TestClient, str]]
# Identity an analyst must never see (the Joneses' and the extra people's).
IDENTITY = ("Margaret", "Thomas", "Jones", "JONES", "Heol y Bryn", "SA19 6AB", "01558 000000")


def _person(nhs: str, given: str, family: str, dob: dt.date, practice: str) -> Person:
    p = Person(
        nhs_number=nhs,
        date_of_birth=dob,
        sex="female",
        ethnic_group="white_british",
        practice_id=practice,
        locality_id="DEMO-LOC",
        care_home_resident=False,
        risk_explanation=[],
        conditions=[],
        synced_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        title="Ms",
        address_line_1="3 Stryd Fawr",
        postcode="SA19 6XY",
        telephone="01558 111111",
    )
    p.set_names(given, family)
    return p


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo (Mr and Mrs Jones at DEMO-GP1) plus three people: another Jones and an
    O'Brien at DEMO-GP2 (gp.elsewhere's practice), and a Jones who objects to sharing."""
    url = f"sqlite:///{tmp_path_factory.mktemp('identity') / 'store.db'}"
    demo_store(url)
    a, b, c = EXTRA
    with transaction(session_factory(make_engine(url))) as s:
        s.add(_person(a, "Alice", "Jones", dt.date(1950, 3, 4), "DEMO-GP2"))
        s.add(_person(b, "Siobhan", "O'Brien-Smith", dt.date(1941, 5, 1), "DEMO-GP2"))
        s.add(_person(c, "Nia", "Jones", dt.date(1960, 7, 8), "DEMO-GP2"))
        s.flush()
        admin = s.execute(select(User).where(User.username == "demo.admin")).scalar_one()
        s.add(
            Objection(
                nhs_number=c,
                kind="sharing",
                recorded_by=admin.id,
                recorded_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            )
        )
        # Alarm incidents: Alice's is open in the telecare queue and dispatched to rapid
        # response (both services' staff see her while it is open); Siobhan's is closed.
        for nhs, status, responder in ((a, "dispatched", "rapid-response"), (b, "closed", None)):
            at = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)
            ev = Event(
                nhs_number=nhs,
                type="alarm",
                occurred_at=at,
                received_at=at,
                payload={"kind": "fall"},
                source="test",
            )
            s.add(ev)
            s.flush()
            s.add(
                Incident(
                    nhs_number=nhs,
                    event_id=ev.id,
                    service_id="telecare",
                    status=status,
                    alarm_at=at,
                    arrive_by=at + dt.timedelta(hours=2),
                    responder_service_id=responder,
                    history=[],
                )
            )
    return url


@pytest.fixture
def client_for(store: str) -> Iterator[Client]:
    app = build_app(Settings(db=store, insecure_cookies=True, pseudonym_key="k" * 32))
    clients: list[TestClient] = []

    def make(username: str) -> tuple[TestClient, str]:
        c = TestClient(app)
        clients.append(c)
        return c, sign_in(c, username)

    yield make
    for c in clients:
        c.close()


def _results(html: str) -> list[str]:
    if 'id="search-results"' not in html:
        return []
    listing = html.split('id="search-results"')[1].split("</ul>")[0]
    return re.findall(r'href="/app/people/([0-9]{10})"', listing)


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "nhs", "dob", "given", "family"),
    [
        ("Jones", None, None, None, "jones"),
        ("margaret JONES", None, None, "margaret", "jones"),
        ("Jones, Margaret", None, None, "margaret", "jones"),
        ("o'brien", None, None, None, "obrien"),
        ("999 000 0018", "9990000018", None, None, None),
        ("9990000018", "9990000018", None, None, None),
        ("1/5/1941", None, dt.date(1941, 5, 1), None, None),
        ("01-05-1941", None, dt.date(1941, 5, 1), None, None),
        ("1941-05-01", None, dt.date(1941, 5, 1), None, None),
        ("Jones 1 May 1941", None, dt.date(1941, 5, 1), None, "jones"),
    ],
)
def test_parse_reads_names_numbers_and_dates(
    text: str, nhs: str | None, dob: dt.date | None, given: str | None, family: str | None
) -> None:
    q = finder.parse(text, TODAY)
    assert not q.problems
    assert (q.nhs_number, q.date_of_birth, q.given, q.family) == (nhs, dob, given, family)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("31/2/1941", "Date of birth: 31/2/1941 is not a real date"),
        ("1/5/2099", "Date of birth must be today or in the past"),
        ("999 000 0019", "NHS number: 999 000 0019 is not a valid NHS number"),
        ("12345", "Enter a name, a 10-digit NHS number or a date of birth"),
    ],
)
def test_parse_explains_what_it_cannot_read(text: str, problem: str) -> None:
    q = finder.parse(text, TODAY)
    assert any(p.startswith(problem) for p in q.problems), q.problems
    assert all("^" not in p and "pattern" not in p for p in q.problems)


# ---------------------------------------------------------------- search and access

OTHERS = (
    "You only see people you have a care relationship with. If the person you need is not "
    "listed and it is an emergency, open their record by NHS number and use emergency "
    "access (break-glass)"
)


def _others_block(html: str) -> str:
    return html.split('id="search-others"')[1].split("</div>")[0]


def _assert_no_count_of_others(html: str) -> None:
    """The information-governance decision: never how many unseen people match, always the
    same advice about emergency access."""
    block = _others_block(html)
    assert OTHERS in block
    assert not re.search(r"\d", block)
    assert "other person" not in html and "other people match" not in html


def test_search_never_discloses_that_unseen_people_match(client_for: Client, store: str) -> None:
    """A search matching people the user may not see reads exactly like one matching nobody;
    the number of unseen matches reaches only the audit log (for the IG officer)."""
    gp, _ = client_for("gp.jones")  # sees neither Alice Jones nor Siobhan O'Brien-Smith
    unseen = gp.get("/app/search", params={"q": "O'Brien-Smith"})  # matches Siobhan
    nobody = gp.get("/app/search", params={"q": "Zzyzx"})  # matches no one at all
    assert unseen.status_code == nobody.status_code == 200
    assert _results(unseen.text) == _results(nobody.text) == []

    def main(html: str, q: str) -> str:
        return html.split("<main")[1].split("</main>")[0].replace(q, "Q")

    assert main(unseen.text, "O&#39;Brien-Smith") == main(nobody.text, "Zzyzx")
    with session_factory(make_engine(store))() as s:
        details = [
            e.detail
            for e in s.execute(
                select(AuditEntry)
                .where(AuditEntry.actor == "gp.jones", AuditEntry.resource == "person")
                .order_by(AuditEntry.seq.desc())
                .limit(5)
            ).scalars()
        ]
    assert any("search results" in d and "hidden=1" in d for d in details), details


def test_search_by_name_returns_only_people_the_user_may_see(client_for: Client) -> None:
    a, b, c = EXTRA
    gp, _ = client_for("gp.jones")  # DEMO-GP1: Mr and Mrs Jones only
    r = gp.get("/app/search", params={"q": "jones"})
    assert r.status_code == 200
    assert set(_results(r.text)) == {MRS, MR}
    assert "JONES, Margaret (Mrs)" in r.text
    assert "Alice" not in r.text and a not in r.text
    _assert_no_count_of_others(r.text)
    coordinator, _ = client_for("coordinator")  # the locality: all but the objector
    r = coordinator.get("/app/search", params={"q": "Jones"})
    assert set(_results(r.text)) == {MRS, MR, a}
    assert c not in r.text
    _assert_no_count_of_others(r.text)
    r = coordinator.get("/app/search", params={"q": "Margaret Jones"})
    assert _results(r.text) == [MRS]
    r = coordinator.get("/app/search", params={"q": "Jones, Marg"})
    assert _results(r.text) == [MRS]
    r = coordinator.get("/app/search", params={"q": "OBRIEN"})
    assert _results(r.text) == [b]
    elsewhere, _ = client_for("gp.elsewhere")  # DEMO-GP2: the other three
    r = elsewhere.get("/app/search", params={"q": "jones"})
    assert set(_results(r.text)) == {a, c}
    _assert_no_count_of_others(r.text)


def test_search_by_nhs_number_and_date_of_birth(client_for: Client) -> None:
    _, b, _ = EXTRA
    gp, _ = client_for("gp.jones")
    r = gp.get("/app/search", params={"q": "999 000 0018"})
    assert _results(r.text) == [MRS]
    r = gp.get("/app/search", params={"q": f"{b[:3]} {b[3:6]} {b[6:]}"})
    assert _results(r.text) == []
    _assert_no_count_of_others(r.text)
    assert f'href="/app/people/{b}"' in r.text  # the way to break-glass, without the name
    assert "Siobhan" not in r.text
    elsewhere, _ = client_for("gp.elsewhere")
    r = elsewhere.get("/app/search", params={"q": "1/5/1941"})
    assert _results(r.text) == [b]


def test_search_errors_use_the_error_summary(client_for: Client) -> None:
    gp, _ = client_for("gp.jones")
    r = gp.get("/app/search", params={"q": "31/2/1941"})
    assert r.status_code == 422
    assert 'class="nhsuk-error-summary"' in r.text
    assert '<a href="#search-q">Date of birth: 31/2/1941 is not a real date' in r.text
    assert 'id="search-q-error"' in r.text
    assert gp.get("/app/search").status_code == 200  # an empty form is not an error


def test_search_is_refused_for_roles_without_person_access(client_for: Client) -> None:
    analyst, _ = client_for("commissioner")
    r = analyst.get("/app/search", params={"q": "jones"})
    assert r.status_code == 403
    assert "Jones" not in r.text


def test_visible_clause_agrees_with_the_relationship_rule(store: str) -> None:
    """Search's SQL, the lists' set queries and the record's check give the same answer
    for every user and person, every basis included (an open alarm incident too)."""
    now = dt.datetime.now(dt.UTC)
    alice, siobhan, _ = EXTRA
    bases: dict[str, dict[str, str]] = {}
    with session_factory(make_engine(store))() as s:
        people = list(s.execute(select(Person)).scalars())
        for user in s.execute(select(User)).scalars():
            sql = set(
                s.execute(
                    select(Person.nhs_number).where(access.visible_clause(user, now))
                ).scalars()
            )
            rule = {
                p.nhs_number: basis
                for p in people
                if user.role not in access.RELATIONSHIP_EXEMPT
                and (basis := access.relationship(s, user, p, now)) is not None
            }
            assert sql == set(rule), user.username
            if user.role not in access.RELATIONSHIP_EXEMPT:
                listed = access.visible(s, user, [p.nhs_number for p in people], now)
                assert listed == rule, user.username
            bases[user.username] = rule
    # The incident basis is exercised, not vacuous: the control centre (the queue) and
    # rapid response (dispatched) see Alice while her alarm is open, not Siobhan (closed).
    for username in ("control.centre", "rapid.response"):
        assert bases[username].get(alice) == "incident", username
        assert siobhan not in bases[username], username
    assert alice not in bases["gp.jones"]


# ---------------------------------------------------------------- the banner


def test_banner_on_every_page_about_a_person(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    for path in (
        f"/app/people/{MRS}",
        f"/app/people/{MRS}/care-plan/edit",
        f"/app/people/{MRS}/referrals/new",
        f"/app/people/{MRS}/assessments/new?template_id=carer",
        f"/app/worklist/enrol?nhs_number={MR}",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        banner = r.text.split('class="cw-patient-banner"')[1].split("</section>")[0]
        who = "Margaret (Mrs)" if MRS in path else "Thomas (Mr)"
        assert f"JONES, {who}" in banner, path
        assert re.search(r"Born</dt><dd>\d{1,2} [A-Z][a-z]{2} \d{4} \(\d+ years\)", banner)
        assert "999 000 00" in banner and "Demo surgery" in banner
        assert "DEMO-GP1" not in banner
    r = c.get(f"/app/people/{MRS}")
    assert "<title>JONES, Margaret (Mrs) – Careweave</title>" in r.text
    assert '<h1 class="cw-patient-banner__name">JONES, Margaret (Mrs)</h1>' in r.text


def test_names_on_lists_home_and_mdt(client_for: Client) -> None:
    c, _ = client_for("coordinator")
    r = c.get("/app/worklist", params={"applied": "1", "level": ["4", "3"]})
    assert "JONES, Margaret (Mrs)" in r.text and "Demo surgery" in r.text
    home = c.get("/app/")
    assert "JONES, Margaret (Mrs)" in home.text  # the telehealth notifications
    cm, cm_csrf = client_for("case.manager")
    r = cm.post(
        "/app/mdt",
        data={
            "csrf_token": cm_csrf,
            "title": "Identity MDT",
            "held_at": "2026-12-10T10:00",
            "agenda": MRS,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    meeting = cm.get(r.headers["location"])
    assert "JONES, Margaret (Mrs)" in meeting.text.split("Attendees")[0]


def test_emergency_access_banner_with_its_expiry(client_for: Client) -> None:
    c, csrf = client_for("gp.elsewhere")
    r = c.get(f"/app/people/{MRS}")
    assert r.status_code == 403 and "Margaret" not in r.text
    r = c.post(
        f"/app/people/{MRS}/break-glass",
        data={"csrf_token": csrf, "reason": "Collapsed at the surgery, need her medicines"},
    )
    assert r.status_code == 200
    assert "Emergency access" in r.text and "Access ends at" in r.text
    assert "JONES, Margaret (Mrs)" in r.text
    # The break-glass basis shows on her other pages too; a relationship shows no banner.
    r = c.get(f"/app/people/{MRS}/referrals/new")
    assert "Access ends at" in r.text
    gp, _ = client_for("gp.jones")
    assert "Access ends at" not in gp.get(f"/app/people/{MRS}").text


# ---------------------------------------------------------------- analytics


def test_analyst_outputs_carry_no_identity(client_for: Client, store: str) -> None:
    """The analyst API, the analyst's pages and every CSV they link to: no names,
    addresses or telephone numbers (CONTRACT.md's identifying columns)."""
    with session_factory(make_engine(store))() as s:
        with_identity = s.execute(select(Person).where(Person.family_name.is_not(None))).scalars()
        assert len(list(with_identity)) == 5
    c, _ = client_for("commissioner")
    seen: dict[str, str] = {}
    r = c.get("/analytics/people", params={"limit": 10000})
    assert r.status_code == 200 and len(r.json()) >= 5
    seen["/analytics/people"] = r.text
    queue = ["/app/", "/app/population"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        r = c.get(path)
        assert r.status_code == 200, path
        seen[path] = r.text
        for link in re.findall(r'href="(/app/population[^"#]*|/app/[^"#]*\.csv[^"#]*)"', r.text):
            queue.append(link.replace("&amp;", "&"))
    assert len(seen) >= 4
    for path, text in seen.items():
        for ident in (*IDENTITY, "Alice", "Siobhan", "Stryd Fawr", "SA19 6XY", "01558 111111"):
            assert ident not in text, (path, ident)
