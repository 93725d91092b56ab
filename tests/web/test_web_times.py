"""Times on pages in UK local time (Europe/London: GMT in winter, BST in summer), never
UTC, written by one helper (careweave.care.wording.uk_time) under every template filter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.care.wording import uk_date, uk_time
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import Notification, User
from careweave.web import templating as render

WEB = Path(render.__file__).parent
UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # Summer: BST is UTC+1, so 23:30 UTC is half past midnight the next day.
        (dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "2 Jul 2026 00:30"),
        # Winter: GMT, the same as UTC.
        (dt.datetime(2026, 12, 1, 23, 30, tzinfo=UTC), "1 Dec 2026 23:30"),
        # The clocks change: 01:00 UTC on 29 March 2026 is 02:00 BST.
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29 Mar 2026 00:59"),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29 Mar 2026 02:00"),
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25 Oct 2026 01:30"),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25 Oct 2026 01:30"),
        # Naive datetimes are UTC, as the store keeps them.
        (dt.datetime(2026, 7, 1, 9, 0), "1 Jul 2026 10:00"),
        # ISO strings as JSON history keeps them, with or without an offset.
        ("2026-07-01T09:00:00+00:00", "1 Jul 2026 10:00"),
        ("2026-07-01T09:00:00", "1 Jul 2026 10:00"),
        ("2026-12-01T09:00:00+00:00", "1 Dec 2026 09:00"),
        # Dates are days, with no time and no shift.
        (dt.date(2026, 7, 1), "1 Jul 2026"),
        ("2026-07-01", "1 Jul 2026"),
        (None, ""),
        ("", ""),
        ("not a date", "not a date"),
    ],
)
def test_uk_time_writes_uk_local_time(value: object, shown: str) -> None:
    assert uk_time(value) == shown  # type: ignore[arg-type]
    assert render.when(value) == shown  # type: ignore[arg-type]


def test_every_template_filter_is_the_one_helper() -> None:
    for name in ("when", "uk", "uk_iso"):
        f = render.env.filters[name]
        assert f is uk_time or f is render.when, name
    assert uk_date(dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == dt.date(2026, 7, 2)
    assert uk_date(dt.date(2026, 7, 1)) == dt.date(2026, 7, 1)


def test_no_page_formats_time_itself_or_in_utc() -> None:
    """Templates write times with the filters (month and day labels of calendar dates may
    use strftime: a date has no time zone); page code takes "today" as the UK day."""
    for path in sorted((WEB / "templates").glob("*.html")):
        text = path.read_text()
        assert "UTC" not in text, path.name
        for fmt in re.findall(r"strftime\(([^)]*)\)", text):
            assert "%H" not in fmt and "%M" not in fmt and "%I" not in fmt, (path.name, fmt)
    for path in sorted((WEB / "pages").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"\bnow\.date\(\)", text), path.name
        assert "astimezone(dt.UTC).strftime" not in text, path.name


def test_pages_show_times_in_uk_local_time(
    demo_db: str, client_for: Callable[[str], tuple[TestClient, str]]
) -> None:
    """A notification made at 23:30 UTC on 1 July shows as 00:30 on 2 July (BST)."""
    with transaction(session_factory(make_engine(demo_db))) as s:
        coordinator = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        s.add(
            Notification(
                recipient_user_id=coordinator.id,
                kind="event:test",
                subject="Summer-time check",
                created_at=dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC),
            )
        )
    c, _ = client_for("coordinator")
    home = c.get("/app/")
    assert home.status_code == 200
    row = home.text.split("Summer-time check")[0].rsplit("<tr", 1)[1]
    assert "2 Jul 2026 00:30" in row
    assert "1 Jul 2026 23:30" not in row
