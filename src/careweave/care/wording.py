"""Plain English for notifications and pages: people's names and UK local times.

Notifications are read by care workers on a phone between visits, so each is
one sentence naming who did what to whom ("Rhys Owen (diabetes nurse) accepted
the referral of Mrs Jones to Specialist diabetes nursing"). Times are shown in
UK local time (Europe/London, GMT or BST), never UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from careweave.store.models import Person

UK = ZoneInfo("Europe/London")


def nhs_spaced(nhs: str) -> str:
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if len(nhs) == 10 else nhs


def person_name(person: Person) -> str:
    """'Mrs Jones' (title and family name) as staff say it, else 'Carys Evans', else
    the NHS number, spaced, for a person the index holds no name for."""
    title, given, family = person.title, person.given_name, person.family_name
    if family and title:
        return f"{title} {family}"
    if family and given:
        return f"{given} {family}"
    return f"NHS {nhs_spaced(person.nhs_number)}"


def possessive(name: str) -> str:
    """'Mrs Jones's' (GOV.UK style: 's after every name, Jones included)."""
    return f"{name}'s"


def uk(value: dt.datetime) -> dt.datetime:
    """An instant on the UK wall clock (a naive datetime is UTC, as the store keeps them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(UK)


def uk_time(value: dt.datetime | dt.date | str | None) -> str:
    """The one way pages, messages and charts write a date or time: the UK way, in UK
    local time (Europe/London: GMT in winter, BST in summer), never UTC.

    - an instant (an aware datetime, or an ISO string with a time, as JSON history
      keeps them) -> '3 Dec 2026 14:00', the UK wall clock at that instant; a naive
      one is UTC, as the store keeps them;
    - a calendar date (or 'yyyy-mm-dd') -> '3 Dec 2026';
    - None or '' -> ''; a string that is not ISO is shown as it is.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed: dt.datetime | dt.date = (
                dt.datetime.fromisoformat(value)
                if len(value) > 10
                else dt.date.fromisoformat(value)
            )
        except ValueError:
            return value
        value = parsed
    if isinstance(value, dt.datetime):
        return uk(value).strftime("%-d %b %Y %H:%M")
    return value.strftime("%-d %b %Y")


def uk_date(value: dt.datetime | dt.date) -> dt.date:
    """The UK calendar day of an instant (a date is its own day)."""
    return uk(value).date() if isinstance(value, dt.datetime) else value


def uk_day(value: dt.date) -> str:
    return value.strftime("%-d %B")


def from_uk(day: dt.date, time: dt.time) -> dt.datetime:
    """A UK wall-clock date and time as an aware UTC datetime."""
    return dt.datetime.combine(day, time, tzinfo=UK).astimezone(dt.UTC)


def hours_text(hours: float) -> str:
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def clock_text(respond_by: dt.datetime, now: dt.datetime) -> str:
    """How long is left to respond ('1 h 20 min left') or how far past it is."""
    left = respond_by - now
    mins = int(abs(left.total_seconds()) // 60)
    days, rem = divmod(mins, 24 * 60)
    h, m = divmod(rem, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{h} h"] if h else []) + [f"{m} min"]
    span = " ".join(parts if days == 0 else parts[:2])
    return f"{span} left" if left.total_seconds() >= 0 else f"{span} overdue"
