"""Finding a person by name, NHS number or date of birth, within legitimate relationships.

One box takes any mix of the three ("Jones 1/5/1941", "943 476 5919",
"Margaret O'Brien"): ten digits are an NHS number, a day-month-year is a date
of birth, and the remaining words are names. One name is a family name (or the
start of one); two or more are the given name first and the family name last,
or "Family, Given" with a comma. Names compare on the people index's letters-only
keys (``store.models.name_key``) as prefixes, so the query is a range on the
``ix_people_name_search`` index.

Only people the user may open are returned (``access.visible_clause``).

Decided as information governance would: the page never says whether, or how
many, other people match. A count of unseen people ("2 others match") tells the
user that someone of that name or date of birth is known here, and comparing
counts across searches narrows down who: a disclosure about people the user has
no relationship with. Instead every search says the same thing, whatever matched:
results are limited to the user's care relationships, and in an emergency they
can open a record by NHS number and use break-glass (reason recorded, reviewed).
The number of other matches is kept for the audit entry only (``hidden=N``), so an
information-governance officer can see searches that reached beyond a user's
relationships; the user never sees it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.dataset.nhs_number import is_valid
from careweave.security import access
from careweave.store.models import Person, User, name_key

LIMIT = 50
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ("jan january", "feb february", "mar march", "apr april", "may", "jun june"),
    )
    for m in names.split()
} | {
    m: i + 7
    for i, names in enumerate(
        ("jul july", "aug august", "sep sept september", "oct october", "nov november"),
    )
    for m in names.split()
}
MONTHS |= {"dec": 12, "december": 12}


@dataclass
class Query:
    """What the words typed mean; ``problems`` are sentences for the error summary."""

    text: str
    nhs_number: str | None = None
    date_of_birth: dt.date | None = None
    given: str | None = None
    family: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.nhs_number or self.date_of_birth or self.given or self.family)


def _date(day: str, month: str, year: str) -> dt.date | None:
    mon = int(month) if month.isdigit() else MONTHS.get(month.casefold())
    if mon is None or not day.isdigit() or not year.isdigit() or len(year) != 4:
        return None
    try:
        return dt.date(int(year), mon, int(day))
    except ValueError:
        return None


DATE_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
DATE_WORDS = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\s+(\d{4})\b")
NHS = re.compile(r"\b(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})\b")


def parse(text: str, today: dt.date) -> Query:
    """Pure: the search text as NHS number, date of birth and names."""
    q = Query(text=text.strip()[:200])
    rest = q.text
    if m := DATE_ISO.search(rest):
        q.date_of_birth = _date(m[3], m[2], m[1])
        rest = rest[: m.start()] + " " + rest[m.end() :]
    elif m := DATE_NUMERIC.search(rest) or DATE_WORDS.search(rest):
        q.date_of_birth = _date(m[1], m[2], m[3])
        rest = rest[: m.start()] + " " + rest[m.end() :]
    if m is not None and q.date_of_birth is None:
        q.problems.append(f"Date of birth: {m[0]} is not a real date. Enter it like 1/5/1941")
    elif q.date_of_birth is not None and q.date_of_birth > today:
        q.problems.append("Date of birth must be today or in the past")
    if m := NHS.search(rest):
        digits = m[1] + m[2] + m[3]
        rest = rest[: m.start()] + " " + rest[m.end() :]
        if is_valid(digits):
            q.nhs_number = digits
        else:
            q.problems.append(
                f"NHS number: {m[0]} is not a valid NHS number. Check it and try again"
            )
    if re.search(r"\d", rest):
        q.problems.append("Enter a name, a 10-digit NHS number or a date of birth like 1/5/1941")
        return q
    if "," in rest:
        family, _, given = rest.partition(",")
        q.family, q.given = name_key(family), name_key(given)
    else:
        words = [w for w in rest.split() if name_key(w)]
        if len(words) == 1:
            q.family = name_key(words[0])
        elif words:
            q.given, q.family = name_key(words[0]), name_key("".join(words[1:]))
    return q


def _prefix(col: Any, key: str) -> ColumnElement[bool]:
    """``col`` starts with ``key``, as a range the index serves (keys are [a-z0-9...])."""
    return and_(col >= key, col < key + "\U0010ffff")


def _family_and_given(family: str, given: str) -> tuple[ColumnElement[bool], ...]:
    """Family name starting with ``family`` and given name starting with ``given``, as two
    index ranges: the family name exactly (then the given-name range on the index's second
    column) or longer than it. One prefix range on the family name alone left the given
    name to be checked on every entry: all 10,000 Smiths for "Margaret Smith" at 1,000,000
    people."""
    given_prefix = _prefix(Person.given_key, given)
    return (
        and_(Person.family_key == family, given_prefix),
        and_(Person.family_key > family, Person.family_key < family + "\U0010ffff", given_prefix),
    )


def condition(q: Query) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if q.nhs_number:
        parts.append(Person.nhs_number == q.nhs_number)
    if q.date_of_birth:
        parts.append(Person.date_of_birth == q.date_of_birth)
    if q.family and q.given:
        # "Margaret Jones" or "Jones Margaret": either order of the two words.
        parts.append(
            or_(
                *_family_and_given(q.family, q.given),
                *_family_and_given(q.given, q.family),
            )
        )
    elif q.family:
        parts.append(_prefix(Person.family_key, q.family))
    elif q.given:
        parts.append(_prefix(Person.given_key, q.given))
    return and_(*parts)


@dataclass(frozen=True)
class Result:
    people: list[Person]
    more: bool
    hidden: int  # people who match whom the user may not see: for the audit, never shown


def search(session: Session, user: User, q: Query, now: dt.datetime) -> Result:
    """Up to LIMIT matching people the user may open (by name, then date of birth), and how
    many others match; nothing when the query is empty or has problems."""
    if q.empty or q.problems:
        return Result([], False, 0)
    match = condition(q)
    visible = access.visible_clause(user, now)
    rows = list(
        session.execute(
            select(Person)
            .where(match, visible)
            .order_by(Person.family_key, Person.given_key, Person.date_of_birth, Person.nhs_number)
            .limit(LIMIT + 1)
        ).scalars()
    )
    # The hidden count (audited, never shown) stops at 1,000. It selects a constant, so
    # SQLite counts from the index alone (ix_people_name_search, or the date-of-birth
    # index): selecting nhs_number read the table row behind every index entry, 1,001
    # row reads for a common name at 1,000,000 people (half the search's time).
    matching = session.execute(
        select(func.count()).select_from(
            select(literal_column("1")).where(match).limit(1001).subquery()
        )
    ).scalar_one()
    shown = len(rows)
    hidden = max(0, matching - shown) if shown <= LIMIT else 0
    return Result(rows[:LIMIT], shown > LIMIT, hidden)
