"""Dependencies: one transaction per request, the current user, and the care context.

Authentication is either ``Authorization: Bearer <token>`` (API clients) or the
session cookie set by ``POST /auth/login`` (browsers). Cookie-authenticated
unsafe requests must echo the session's CSRF token in the ``X-CSRF-Token``
header or a ``csrf_token`` form field.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from careweave.care.config import CareConfig
from careweave.care.context import Ctx
from careweave.maturity.matrices import Matrix
from careweave.security import audit, auth
from careweave.security.errors import Forbidden, Unauthorized
from careweave.security.throttle import Throttle
from careweave.store.db import read_only
from careweave.store.models import User

SESSION_COOKIE = "cw_session"
CSRF_COOKIE = "cw_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AppState:
    sessions: sessionmaker[Session]
    config: CareConfig
    clock: Callable[[], dt.datetime]
    pseudonym_key: bytes | None
    cookie_secure: bool
    #: The maturity matrices by id (shipped, plus the deployment's own).
    matrices: dict[str, Matrix] = field(default_factory=dict)


def state(request: Request) -> AppState:
    s: AppState = request.app.state.careweave
    return s


ACTOR = "careweave_actor"
SCOPE = "careweave_token_scope"
PRINCIPAL = "careweave_bearer_principal"


def db(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed if the handler succeeds, else rolled back.

    A refusal (403) that no check has audited yet (a CSRF failure, a meeting the user
    did not attend) is audited here, in its own transaction, naming the request."""
    session = state(request).sessions()
    if request.method in SAFE_METHODS:
        read_only(session)  # no write lock for reads (store/db.py)
    try:
        yield session
        session.commit()
    except BaseException as e:
        if isinstance(e, Forbidden) and not audit.has_refusals(session):
            refused(session, request.method, request.url.path, e, state(request).clock())
        session.rollback()
        raise
    finally:
        session.close()


def refused(session: Session, method: str, path: str, e: Forbidden, at: dt.datetime) -> None:
    """Audit a refusal that no check has audited, naming the request (written when the
    transaction ends, committed or not: security/audit.py)."""
    audit.refused(
        session,
        actor=str(session.info.get(ACTOR, "anonymous")),
        action=method.lower(),
        resource="request",
        resource_id=path[:64],
        reason=str(e),
        now=at,
    )


DB = Annotated[Session, Depends(db, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="API token from POST /auth/tokens")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Browser session")


def throttle(request: Request) -> Throttle:
    """The app's sign-in throttle by client address (security/throttle.py)."""
    found: Throttle | None = getattr(request.app.state, "careweave_throttle", None)
    if found is None:
        found = request.app.state.careweave_throttle = Throttle()
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def now(request: Request) -> dt.datetime:
    return state(request).clock()


Now = Annotated[dt.datetime, Depends(now)]


MAX_FORM_PART = 6 * 1024 * 1024


async def form_csrf(request: Request) -> str | None:
    """The ``csrf_token`` field of a form post (read here: reading a body needs the event loop)."""
    if request.method in SAFE_METHODS or not request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return None
    # The first parse is cached for the handler, so its limits are every form's: a part may
    # be a little over the 5 MB a maturity document may be, so that limit is said in words.
    value = (await request.form(max_part_size=MAX_FORM_PART)).get("csrf_token")
    return value if isinstance(value, str) else None


def bearer_principal(session: Session, token: str) -> tuple[User, auth.TokenScope | None] | None:
    """The token's user and scope, looked up once per request (the request's session
    keeps them: the FHIR scope check and the sign-in both ask)."""
    key = (PRINCIPAL, auth.token_digest(token))
    if key not in session.info:
        session.info[key] = auth.resolve_bearer(session, token)
    found: tuple[User, auth.TokenScope | None] | None = session.info[key]
    return found


def current_user(
    request: Request,
    session: DB,
    at: Now,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
    form_token: Annotated[str | None, Depends(form_csrf)],
) -> User:
    # Sync on purpose: it queries the store, which must never block the event loop.
    return authenticate(session, Credentials.of(request, bearer, cookie, form_token), at)


@dataclass(frozen=True)
class Credentials:
    """What a request presents to prove who sent it, read in the event loop (no store
    access), so the store look-up can run later in a worker thread (api/event_writer.py)."""

    method: str
    path: str
    bearer: str | None
    cookie: str | None
    csrf: str | None  # the X-CSRF-Token header, else the form's csrf_token field

    @classmethod
    def of(
        cls,
        request: Request,
        bearer: HTTPAuthorizationCredentials | None,
        cookie: str | None,
        form_token: str | None,
    ) -> Credentials:
        return cls(
            method=request.method,
            path=request.url.path,
            bearer=None if bearer is None else bearer.credentials,
            cookie=cookie or None,
            csrf=request.headers.get(CSRF_HEADER) or form_token,
        )


def authenticate(session: Session, creds: Credentials, at: dt.datetime) -> User:
    """The signed-in user of ``creds`` (a bearer token, else the session cookie and its
    CSRF token on unsafe methods); 401 / 403 in words. Sets the transaction's actor and
    token scope (``session.info``)."""
    if creds.bearer is not None:
        principal = bearer_principal(session, creds.bearer)
        if principal is None:
            raise Unauthorized("authorization: unknown or revoked token")
        user, scope = principal
        session.info[ACTOR] = user.username
        session.info[SCOPE] = scope
        if scope is not None and scope.fhir is not None and not _fhir_path(creds.path):
            raise Forbidden(
                "token scope: this token has FHIR scopes; use it on /fhir only "
                "(docs/fhir.md, Scopes)"
            )
        return user
    if creds.cookie:
        found = auth.resolve_session(session, creds.cookie, at)
        if found is None:
            raise Unauthorized("session: expired or unknown; log in again")
        user, login = found
        session.info[ACTOR] = user.username
        if creds.method not in SAFE_METHODS:
            sent = creds.csrf
            if sent is None or not hmac.compare_digest(sent, login.csrf_token):
                raise Forbidden(
                    "csrf: missing or wrong CSRF token for a cookie-authenticated request"
                )
        return user
    raise Unauthorized(NO_CREDENTIALS)


NO_CREDENTIALS = "authentication: log in or send a bearer token"


async def request_credentials(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
    form_token: Annotated[str | None, Depends(form_csrf)],
) -> Credentials:
    """The request's credentials, unchecked (no store access: the event loop may run it);
    none at all is 401 at once, before the body is looked at, as :func:`current_user`."""
    creds = Credentials.of(request, bearer, cookie, form_token)
    if creds.bearer is None and creds.cookie is None:
        raise Unauthorized(NO_CREDENTIALS)
    return creds


EventCredentials = Annotated[Credentials, Depends(request_credentials)]


def _fhir_path(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


CurrentUser = Annotated[User, Depends(current_user)]


def ctx(request: Request, session: DB, user: CurrentUser, at: Now) -> Ctx:
    return Ctx(
        session=session,
        user=user,
        now=at,
        config=state(request).config,
        scope=session.info.get(SCOPE),
    )


Context = Annotated[Ctx, Depends(ctx)]
