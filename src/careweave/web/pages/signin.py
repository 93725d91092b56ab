"""Sign in and sign out (HTML forms; the session is the API's HttpOnly SameSite cookie).

The sign-in form itself is protected against login CSRF by a double-submit
token: a random value in a SameSite=Strict cookie and the same value in the form.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from careweave.api.deps import (
    CSRF_COOKIE,
    DB,
    SESSION_COOKIE,
    CurrentUser,
    Now,
    client_address,
    state,
    throttle,
)
from careweave.care import services as service_staff
from careweave.security import auth
from careweave.security.auth import SESSION_TTL
from careweave.security.errors import DomainError
from careweave.security.roles import CARE_PROVIDER, allowed
from careweave.store.models import Organisation, User
from careweave.web.render import html

router = APIRouter(prefix="/app")
LOGIN_CSRF_COOKIE = "cw_login_csrf"


def landing(session: Session, user: User) -> str:
    """Where a role starts when it signed in without a page to go back to: what it works on.
    The commissioner's dashboard is the population pyramid; staff whose team is a service
    (a community nursing team, the telecare centre: not a GP practice or a locality team)
    go to their services' referral inboxes; everyone else to Home, shaped by their role
    (a home-care provider's visits and clients first; a locality team's notifications and
    tasks, with a link to the inboxes of services they also staff)."""
    if allowed(user.role, "pseudonymised", "read"):
        return "/app/population"
    if user.role == CARE_PROVIDER:  # a home-care agency's staff work from their visits
        return "/app/"
    org = session.get(Organisation, user.org_id) if user.org_id else None
    in_practice_or_locality = user.locality_id is not None or (
        org is not None and org.org_type == "gp_practice"
    )
    if (
        not in_practice_or_locality
        and allowed(user.role, "referral", "read")
        and service_staff.my_service_ids(session, user)
    ):
        return "/app/referrals"
    return "/app/"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app/"


def _form(
    request: Request,
    next_: str,
    errors: list[tuple[str, str]] | str | None,
    username: str,
    status: int,
) -> Response:
    """The sign-in form; ``errors`` are (field id, message) pairs, or one message about the
    whole sign-in (linked to the username, and the same words whatever was wrong)."""
    token = secrets.token_urlsafe(24)
    if isinstance(errors, str):
        errors = [("username", errors)]
    resp = html(
        request,
        "signin.html",
        title="Sign in",
        next=next_,
        errors=errors or [],
        username=username,
        login_csrf=token,
        status=status,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=state(request).cookie_secure,
        samesite="strict",
        path="/app",
    )
    return resp


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _form(request, _safe_next(next), None, "", 200)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DB,
    at: Now,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/app/",
) -> Response:
    target = _safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_csrf):
        return _form(request, target, "Your sign-in form expired. Please try again.", username, 400)
    missing = [
        *([("username", "Enter your username")] if not username.strip() else []),
        *([("username", "Username must be 64 characters or fewer")] if len(username) > 64 else []),
        *([("password", "Enter your password")] if not password else []),
        *(
            [("password", "Password must be 500 characters or fewer")]
            if len(password) > 500
            else []
        ),
    ]
    if missing:
        return _form(request, target, missing, username, 422)
    try:
        user = auth.attempt(
            session,
            username,
            password,
            at,
            address=client_address(request),
            throttle=throttle(request),
        )
    except DomainError as e:
        session.commit()  # count (and audit) the failure
        message = str(e).removeprefix("login: ")
        return _form(request, target, message[:1].upper() + message[1:], username, e.status)
    token, csrf = auth.start_session(session, user, at)
    if target == "/app/":
        target = landing(session, user)
    resp = RedirectResponse(target, status_code=303)
    secure = state(request).cookie_secure
    max_age = int(SESSION_TTL.total_seconds())
    resp.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="strict"
    )
    resp.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict"
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/app")
    return resp


@router.post("/sign-out")
def sign_out(request: Request, session: DB, user: CurrentUser) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(session, token)
    resp = RedirectResponse("/app/sign-in", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    resp.delete_cookie(CSRF_COOKIE)
    return resp
