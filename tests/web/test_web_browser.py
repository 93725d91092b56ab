"""Browser tests: Playwright for Python driving Debian's chromium headless (no download).

A real uvicorn server on 127.0.0.1 over a temporary SQLite store with the demo
data; every page visited is checked with axe-core (vendored from npm) for
serious or critical WCAG violations and screenshotted under test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server
from web_helpers import demo_store

from careweave.server import build_app
from careweave.settings import Settings
from careweave.web.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
MRS = "9990000018"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'store.db'}"
    demo_store(url)
    app = build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="b" * 32))
    with live_server(app) as base:
        yield base


@pytest.fixture
def new_page(browser: Any, server: str) -> Iterator[Any]:
    contexts = []

    def make(javascript: bool = True, width: int = 1280) -> Any:
        ctx = browser.new_context(
            base_url=server,
            java_script_enabled=javascript,
            viewport={"width": width, "height": 900},
        )
        # Nothing leaves the machine: the NHS.UK font CDN and anything else external is refused.
        ctx.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(server) else route.abort()
            ),
        )
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def check(page: Any, name: str, axe: bool = True) -> None:
    """axe-core on the current page: no serious or critical violation; save a screenshot.

    axe needs JavaScript, so pages visited with JavaScript off are only screenshotted
    (the same pages are axe-checked in the JavaScript-on walks).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if not axe:
        return
    # Evaluated over the DevTools protocol: the page's Content-Security-Policy (no inline
    # script) stays enforced, and axe-core is not an inline script of the page's own.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"


def sign_in(page: Any, username: str) -> None:
    page.goto("/app/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)  # each role lands on its own page


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/sign-in")


WALKS = {
    "coordinator": [
        "/app/",
        "/app/worklist",
        f"/app/people/{MRS}",
        "/app/search?q=jones",
        "/app/directory?q=falls",
        "/app/discharges",
        "/app/maturity/2",
    ],
    "gp.jones": ["/app/", f"/app/people/{MRS}", f"/app/people/{MRS}/care-plan/edit"],
    "case.manager": [
        "/app/",
        "/app/mdt",
        f"/app/people/{MRS}/assessments/new?template_id=home_environment_falls",
    ],
    "social.worker": ["/app/", f"/app/people/{MRS}", f"/app/people/{MRS}/referrals/new"],
    "home.care": ["/app/", f"/app/people/{MRS}"],
    "commissioner": [
        "/app/",
        "/app/population",
        "/app/population/segments",
        "/app/population/movement",
        "/app/maturity",
        "/app/maturity/2",
    ],
    "demo.admin": ["/app/", "/app/users"],
}


def test_sign_in_page_and_directory_without_javascript(new_page: Any) -> None:
    page = new_page(javascript=False)
    page.goto("/app/directory")
    check(page, "directory-public-no-js", axe=False)
    sign_in(page, "coordinator")
    page.goto("/app/worklist")
    page.get_by_label("telehealth alert", exact=False).check()
    page.get_by_role("button", name="Apply filters").click()
    assert (
        page.locator("#worklist")
        .get_by_role("link", name="JONES, Margaret (Mrs)", exact=True)
        .is_visible()
    )
    check(page, "worklist-no-js", axe=False)


PERSON_PAGE = re.compile(r"^/app/people/[0-9]{10}")


# Every visible chart label inside its chart and at least this tall on screen (px): charts
# legible on a 320 px phone, no clipped or shrunk-to-nothing labels.
CHART_TEXT = """() => {
  const bad = [];
  for (const svg of document.querySelectorAll("main svg[role=img]")) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || getComputedStyle(svg).display === "none") continue;
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 || !t.textContent.trim()) continue;
      const out = r.left < box.left - 1 || r.right > box.right + 1
        || r.top < box.top - 1 || r.bottom > box.bottom + 1;
      if (out || r.height < 10) bad.push(
        `${svg.id || "chart"}: "${t.textContent.trim()}" ${out ? "clipped" : "too small"}`
        + ` (${Math.round(r.height)} px high)`);
    }
  }
  return bad;
}"""


# The elements reaching past the viewport's right edge (to say what overflows).
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(-4).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}#${e.id}`
    + ` right=${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.mark.parametrize("width", [1280, 390, 320])
@pytest.mark.parametrize("username", list(WALKS))
def test_role_walk(new_page: Any, username: str, width: int) -> None:
    """Every page of the role's walk at desktop and phone widths (390 and the narrowest
    common phone, 320): no console error (the header as published, no request to another
    host), no sideways scrolling, chart labels inside their charts and legible, the patient
    banner on pages about a person, axe clean."""
    page = new_page(width=width)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/app/sign-in")
    check(page, f"sign-in-{width}")
    sign_in(page, username)
    for i, path in enumerate(WALKS[username]):
        resp = page.goto(path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        assert not errors, (path, errors)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, width, overflow, page.evaluate(WIDEST))
        assert page.evaluate(CHART_TEXT) == [], (path, width)
        if PERSON_PAGE.match(path):
            banner = page.locator(".cw-patient-banner")
            assert banner.count() == 1 and banner.is_visible(), path
            assert "NHS number" in banner.inner_text() and "Born" in banner.inner_text()
        check(page, f"{username}-{i}-{width}")
    sign_out(page)


# A form per page, submitted with something wrong: (user, page, how to get it wrong).
FORMS: list[tuple[str, str, Callable[[Any], None]]] = [
    ("coordinator", f"/app/people/{MRS}/referrals/new", lambda page: None),
    (
        "gp.jones",
        f"/app/people/{MRS}/care-plan/edit",
        lambda page: page.locator("#review_date").fill("2020-01-01"),
    ),
    (
        "case.manager",
        f"/app/people/{MRS}/assessments/new?template_id=home_environment_falls",
        lambda page: None,
    ),
    ("case.manager", "/app/mdt", lambda page: page.locator("#title").fill("")),
    (
        "coordinator",
        "/app/search",
        lambda page: page.locator("#search-q").fill("31/2/1941"),
    ),
]


@pytest.mark.parametrize(("username", "path", "spoil"), FORMS)
def test_forms_use_the_error_summary(
    new_page: Any, username: str, path: str, spoil: Callable[[Any], None]
) -> None:
    """Submitted wrong, each form shows the NHS.UK error summary (focused by the
    design system's script) whose every link points at a field with its inline message."""
    page = new_page(width=390)
    sign_in(page, username)
    page.goto(path)
    spoil(page)
    page.locator("main form button[type=submit], main form button:not([type])").last.click()
    page.wait_for_load_state()
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible(), path
    links = summary.locator("a")
    assert links.count() >= 1, path
    for i in range(links.count()):
        target = (links.nth(i).get_attribute("href") or "").lstrip("#")
        assert page.locator(f"[id='{target}']").count() == 1, (path, target)
    assert page.locator(".nhsuk-error-message").count() >= 1
    assert page.evaluate("document.activeElement.classList.contains('nhsuk-error-summary')")
    check(page, "form-errors-" + re.sub(r"[^a-z]+", "-", path)[:40])


def test_user_without_relationship_is_refused(new_page: Any) -> None:
    page = new_page()
    sign_in(page, "gp.elsewhere")
    resp = page.goto(f"/app/people/{MRS}")
    assert resp is not None and resp.status == 403
    assert page.get_by_role("heading", name="You do not have a care relationship").is_visible()
    assert page.get_by_text("insulin-dependent diabetes").count() == 0
    check(page, "refused-break-glass")
    page.get_by_label("Reason for emergency access").fill(
        "Seen in A&E out of hours, needs medication list"
    )
    page.get_by_role("button", name="Open the record in an emergency").click()
    page.wait_for_url(f"**/app/people/{MRS}")
    assert page.get_by_text("insulin-dependent diabetes").count() >= 1
    sign_out(page)
    sign_in(page, "demo.admin")
    row = page.locator("#break-glass + table tr", has_text="Dr Tom Rees")
    assert row.count() == 1
    check(page, "admin-break-glass-review")
    row.get_by_label("Review note").fill("Confirmed with the A&E team")
    row.get_by_role("button", name="Mark reviewed").click()
    page.wait_for_url("**/app/#break-glass")
    assert page.get_by_text("Break-glass accesses awaiting review (0)").is_visible()


def test_mrs_jones_journey(new_page: Any) -> None:
    """Telehealth alert on the co-ordinator's home -> referral -> care plan -> GP told."""
    page = new_page()
    sign_in(page, "coordinator")
    alert = page.locator(
        "#notifications + p + table tr, #notifications + table tr", has_text="Telehealth alert"
    )
    assert alert.count() >= 1
    check(page, "jones-1-coordinator-home")
    alert.first.get_by_role("link").click()
    page.wait_for_url(f"**/app/people/{MRS}")
    assert page.locator("#chart-glucose").is_visible()
    check(page, "jones-2-patient")

    page.get_by_role("link", name="Make a referral").click()
    page.get_by_label("Specialist diabetes nursing").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Reason for referral").fill("Blood glucose unstable for 3 days")
    check(page, "jones-3-referral")
    page.get_by_role("button", name="Send the referral").click()
    page.wait_for_url(f"**/app/people/{MRS}#referrals")
    assert page.locator("#referrals table").get_by_text("Specialist diabetes nursing").is_visible()

    page.get_by_role("link", name="Update the care plan").click()
    page.locator("#int_desc_2").fill("Specialist diabetes nurse home visit")
    page.locator("#int_org_2").fill("Community diabetes team")
    page.locator("#int_role_2").select_option("specialist_nurse")
    page.locator("#int_due_2").fill("2027-01-15")
    check(page, "jones-4-care-plan")
    page.get_by_role("button", name="Save the care plan").click()
    page.wait_for_url(f"**/app/people/{MRS}?saved=care-plan#told")
    assert "Dr Gwen Price (GP)" in page.locator("#told").inner_text()
    check(page, "jones-4b-care-plan-saved")
    page.locator("#care-plan summary").click()
    page.get_by_role("link", name="What changed, version by version").click()
    page.wait_for_url("**/care-plan/versions")
    assert (
        page.get_by_text("added 'Specialist diabetes nurse home visit by 15 January'").count() == 1
    )
    check(page, "jones-4c-care-plan-versions")
    sign_out(page)

    sign_in(page, "gp.jones")
    note = page.locator(
        "#notifications + p + table tr, #notifications + table tr",
        has_text="Mrs Jones's care plan: added 'Specialist diabetes nurse home visit by 15 January'",
    )
    assert note.count() == 1
    assert "Carys Evans" in note.inner_text()
    check(page, "jones-5-gp-home")


def test_maturity_grid_shows_stages_and_change(new_page: Any) -> None:
    """The demo locality's draft CCM self-assessment against last year's agreed one."""
    page = new_page()
    sign_in(page, "commissioner")
    page.goto("/app/maturity")
    rows = page.locator("table tbody tr")
    assert rows.count() == 5  # two CCM (ids 1 and 2), three localities on the nine areas
    assert "Agreed" in rows.nth(0).inner_text() and "Draft" in rows.nth(1).inner_text()
    rows.nth(1).get_by_role("link").click()
    page.wait_for_url("**/app/maturity/2")
    needs = page.locator("tr", has_text="Needs assessment")
    text = needs.inner_text()
    assert "Progress in development" in text
    assert "Up from Initial development" in text
    assert "careweave stratify runs monthly" in text
    assert "No change" in page.locator("tr", has_text="Shared vision").inner_text()
    assert "Not rated" in page.locator("tr", has_text="Clinical leadership").inner_text()
    assert page.locator("h2", has_text="9.5 Monitoring and evaluation").count() == 1
    last_year = page.locator("dd", has_text="the agreed assessment of").inner_text()
    assert str(dt.date.today().year - 1) in last_year, last_year
    check(page, "maturity-grid-1280")
    narrow = new_page(width=390)
    sign_in(narrow, "coordinator")
    narrow.goto("/app/maturity/2")
    check(narrow, "maturity-grid-390")
