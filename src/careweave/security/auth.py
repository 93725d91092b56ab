"""Users, logins with lockout, browser sessions (with CSRF tokens) and API bearer tokens.

Tokens are random; the store keeps only their SHA-256, so a stolen database
cannot be replayed as sessions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.security import audit, passwords, scopes
from careweave.security.errors import Conflict, Invalid, TooMany, Unauthorized
from careweave.security.roles import ROLES
from careweave.security.throttle import ADDRESS_WINDOW, Throttle
from careweave.store.models import ApiToken, LoginSession, User

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(hours=10)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
# Length limits, the same for the API (api/schemas.py uses these) and the CLI.
USERNAME_MAX = 64
DISPLAY_NAME_MAX = 200
PASSWORD_MAX = 1024
ORG_ID_MAX = 32
TOKEN_NAME_MAX = 100


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    now: dt.datetime,
    password: str | None = None,
    org_id: str | None = None,
    locality_id: str | None = None,
) -> User:
    if not username or not set(username) <= USERNAME_CHARS or len(username) > USERNAME_MAX:
        raise Invalid(f"username: use 1-{USERNAME_MAX} lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise Invalid(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if not display_name.strip():
        raise Invalid("display_name: must not be empty")
    if len(display_name.strip()) > DISPLAY_NAME_MAX:
        raise Invalid(f"display_name: at most {DISPLAY_NAME_MAX} characters")
    for field, value in (("org_id", org_id), ("locality_id", locality_id)):
        if value is not None and len(value) > ORG_ID_MAX:
            raise Invalid(f"{field}: at most {ORG_ID_MAX} characters")
    if password is not None and len(password) > PASSWORD_MAX:
        raise Invalid(f"password: at most {PASSWORD_MAX} characters")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"username: {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        org_id=org_id,
        locality_id=locality_id,
        password_hash=passwords.hash_password(password) if password is not None else None,
        failed_logins=0,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


FAILED_LOGIN = (
    "login: unknown username or wrong password (an account pauses for "
    f"{int(LOCKOUT.total_seconds() // 60)} minutes after {MAX_FAILURES} failures in a row)"
)
THROTTLED = (
    "login: too many failed sign-ins from this address; wait "
    f"{int(ADDRESS_WINDOW.total_seconds() // 60)} minutes and try again"
)


class LoginRefused(Unauthorized):
    """A refused sign-in. The message is the same for an unknown username, a wrong
    password, a deactivated and a locked account; ``reason`` (for the audit log only)
    says which it was."""

    def __init__(self, reason: str, message: str = FAILED_LOGIN) -> None:
        super().__init__(message)
        self.reason = reason


def login(session: Session, username: str, password: str, now: dt.datetime) -> User:
    """Check a password, counting failures; the account locks after MAX_FAILURES in a row.

    Every outcome but success answers the same words after the same work: one Argon2
    verification (against a dummy hash when there is no usable account), so neither the
    message nor the time tells an unknown username from a wrong password, a deactivated
    or a locked account. A locked account's password is checked but not accepted.
    The caller must commit even when this raises, so failures are counted.
    """
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    usable = user is not None and user.active
    correct = passwords.verify_password(user.password_hash if usable and user else None, password)
    if user is None or not user.active:
        raise LoginRefused("unknown username" if user is None else "deactivated account")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(f"account locked until {user.locked_until:%H:%M} UTC")
    if not correct:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            raise LoginRefused("wrong password; account now locked")
        raise LoginRefused("wrong password")
    user.failed_logins = 0
    user.locked_until = None
    return user


def attempt(
    session: Session,
    username: str,
    password: str,
    now: dt.datetime,
    *,
    address: str,
    throttle: Throttle,
) -> User:
    """A sign-in from ``address``: refused at once (429) while the address is over its
    failure limit; otherwise :func:`login`. Every failure is audited (``login_failed``,
    with the true reason, which only administrators see) and counted against the address.
    The caller must commit even when this raises."""
    name = username.strip().lower()[:64]
    if throttle.blocked(address, now):
        audit.record(
            session,
            actor=name,
            action="login_failed",
            resource="session",
            now=now,
            detail="address throttled",
        )
        raise TooMany(THROTTLED)
    try:
        user = login(session, name, password, now)
    except LoginRefused as e:
        throttle.failed(address, now)
        audit.record(
            session,
            actor=name,
            action="login_failed",
            resource="session",
            now=now,
            detail=e.reason,
        )
        raise
    audit.record(session, actor=user.username, action="login", resource="session", now=now)
    return user


def unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


def _revoke(session: Session, user: User, now: dt.datetime, name: str | None) -> int:
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if name is not None:
        q = q.where(ApiToken.name == name)
    tokens = list(session.execute(q).scalars())
    for t in tokens:
        t.revoked_at = now
    return len(tokens)


def revoke_tokens(
    session: Session, user: User, now: dt.datetime, *, actor: str, name: str | None = None
) -> int:
    """Revoke the user's live API tokens (only those called ``name``, if given); returns how
    many. A revoked token is refused from the next request on; its row is kept. Audited as
    ``revoke_tokens`` by ``actor``."""
    n = _revoke(session, user, now, name)
    audit.record(
        session,
        actor=actor,
        action="revoke_tokens",
        resource="user",
        resource_id=user.id,
        detail=f"name={name or '*'}; tokens_revoked={n}",
        now=now,
    )
    return n


def deactivate(session: Session, user: User, now: dt.datetime, *, actor: str) -> tuple[int, int]:
    """The leaver process: the account can no longer sign in, its browser sessions end and
    its API tokens are revoked. Returns (sessions ended, tokens revoked). Its history
    (audit entries, care-team records, authored plans) is kept. Audited as ``deactivate``
    by ``actor``, who may not be the user themself."""
    if actor == user.username:
        raise Invalid("user: administrators cannot deactivate their own account")
    user.active = False
    ended = list(
        session.execute(select(LoginSession).where(LoginSession.user_id == user.id)).scalars()
    )
    for row in ended:
        session.delete(row)
    revoked = _revoke(session, user, now, None)
    audit.record(
        session,
        actor=actor,
        action="deactivate",
        resource="user",
        resource_id=user.id,
        detail=f"sessions_ended={len(ended)}; tokens_revoked={revoked}",
        now=now,
    )
    return len(ended), revoked


def start_session(session: Session, user: User, now: dt.datetime) -> tuple[str, str]:
    """A new browser session: returns (session token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    return token, csrf


def resolve_session(
    session: Session, token: str, now: dt.datetime
) -> tuple[User, LoginSession] | None:
    row = session.get(LoginSession, token_digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(session: Session, token: str) -> None:
    row = session.get(LoginSession, token_digest(token))
    if row is not None:
        session.delete(row)


def issue_token(
    session: Session,
    user: User,
    name: str,
    now: dt.datetime,
    *,
    event_types: list[str] | None = None,
    orgs: list[str] | None = None,
    fhir_scopes: list[str] | None = None,
) -> str:
    """A bearer token for an API client acting as ``user``; shown once, stored hashed.
    ``event_types`` and ``orgs`` scope it (see :class:`TokenScope`); ``fhir_scopes`` make
    it a FHIR client's token (security/scopes.py)."""
    if not name.strip() or len(name) > TOKEN_NAME_MAX:
        raise Invalid(f"name: a token name of 1-{TOKEN_NAME_MAX} characters")
    if event_types is not None and (not event_types or any(not t for t in event_types)):
        raise Invalid("event_types: give at least one event type")
    if orgs is not None and (not orgs or any(not o or len(o) > ORG_ID_MAX for o in orgs)):
        raise Invalid(f"orgs: give organisation codes of 1-{ORG_ID_MAX} characters")
    checked = scopes.check(fhir_scopes, user.role) if fhir_scopes is not None else None
    token = "cw_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=token_digest(token),
            user_id=user.id,
            name=name,
            created_at=now,
            scope_event_types=sorted(set(event_types)) if event_types is not None else None,
            scope_orgs=sorted(set(orgs)) if orgs is not None else None,
            scope_fhir=checked,
        )
    )
    return token


@dataclass(frozen=True)
class TokenScope:
    """What a scoped token may do beyond its account's role: post only these event types
    (None: any), only about people whose GP practice or locality is one of these
    organisations (None: anyone the account may reach)."""

    event_types: tuple[str, ...] | None
    orgs: tuple[str, ...] | None
    #: SMART-style scopes on /fhir (None: the account's whole permission there)
    fhir: tuple[str, ...] | None = None

    def refuse_fhir(self, resource: str, interaction: str) -> str | None:
        """Why ``interaction`` (read or write) on ``resource`` is outside the FHIR scopes."""
        if self.fhir is None or scopes.allows(self.fhir, resource, interaction):
            return None
        return (
            f"token scope: this token's scopes ({' '.join(self.fhir)}) do not allow "
            f"{resource}.{interaction}"
        )

    def refuse_event(
        self, event_type: str, practice: str | None, locality: str | None
    ) -> str | None:
        """Why an event is outside the scope, in words; None when it is inside."""
        if self.event_types is not None and event_type not in self.event_types:
            return (
                f"token scope: this token may post only {', '.join(self.event_types)} events, "
                f"not {event_type}"
            )
        if self.orgs is not None and not ({practice, locality} & set(self.orgs)):
            return (
                "token scope: the person's practice and locality are outside this token's "
                f"organisations ({', '.join(self.orgs)})"
            )
        return None


def token_scope(session: Session, token: str) -> TokenScope | None:
    """The scope of a (valid) token, or None when it has none."""
    row = session.get(ApiToken, token_digest(token))
    return None if row is None else _scope_of(row)


def _scope_of(row: ApiToken) -> TokenScope | None:
    if row.scope_event_types is None and row.scope_orgs is None and row.scope_fhir is None:
        return None
    return TokenScope(
        tuple(row.scope_event_types) if row.scope_event_types is not None else None,
        tuple(row.scope_orgs) if row.scope_orgs is not None else None,
        tuple(row.scope_fhir) if row.scope_fhir is not None else None,
    )


def resolve_bearer(session: Session, token: str) -> tuple[User, TokenScope | None] | None:
    """The active user of an unrevoked token and the token's scope, in one query (every
    API request runs it: ``resolve_token`` then ``token_scope`` was two)."""
    found = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).one_or_none()
    if found is None:
        return None
    user, row = found
    return user, _scope_of(row)


def resolve_token(session: Session, token: str) -> User | None:
    """The active user of an unrevoked token (one query: every API request runs it)."""
    return session.execute(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).scalar_one_or_none()
