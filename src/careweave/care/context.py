"""What every care operation needs: the unit of work, who is acting, when, and the rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care.config import CareConfig
from careweave.security import access
from careweave.security.auth import TokenScope
from careweave.security.roles import INTEGRATION
from careweave.store.models import Person, User

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Ctx:
    session: Session
    user: User
    now: dt.datetime
    config: CareConfig
    scope: TokenScope | None = None  # the bearer token's scope, when it has one

    def person(self, nhs_number: str, resource: str, action: str, *, record: bool = True) -> Person:
        """The person, after permission + relationship checks; the access is audited
        (unless ``record`` is False and the caller audits it)."""
        return access.person_for(
            self.session, self.user, nhs_number, resource, action, self.now, record=record
        )

    def require(self, resource: str, action: str) -> None:
        access.require(self.user, resource, action, session=self.session, now=self.now)


def system_user(session: Session, now: dt.datetime) -> User:
    """The account CLI jobs (event replay, breach checks) act as; it cannot log in."""
    user = session.execute(
        select(User).where(User.username == SYSTEM_USERNAME)
    ).scalar_one_or_none()
    if user is None:
        user = User(
            username=SYSTEM_USERNAME,
            display_name="Careweave system jobs",
            role=INTEGRATION,
            password_hash=None,
            failed_logins=0,
            active=True,
            created_at=now,
        )
        session.add(user)
        session.flush()
    return user
