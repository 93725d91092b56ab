"""Login, logout, who am I, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

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
from careweave.api.schemas import LoginIn, LoginOut, TokenIn, TokenOut, UserOut
from careweave.security import auth
from careweave.security.auth import SESSION_TTL
from careweave.security.errors import DomainError

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, session: DB, at: Now) -> LoginOut:
    """Start a browser session: sets an HttpOnly, Secure, SameSite=Strict session cookie."""
    try:
        user = auth.attempt(
            session,
            body.username,
            body.password,
            at,
            address=client_address(request),
            throttle=throttle(request),
        )
    except DomainError:
        session.commit()  # count (and audit) the failure even though the request fails
        raise
    token, csrf = auth.start_session(session, user, at)
    secure = state(request).cookie_secure
    max_age = int(SESSION_TTL.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="strict"
    )
    # Readable by the page's own scripts so they can echo it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict"
    )
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, session: DB, user: CurrentUser) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(session, token)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def new_token(body: TokenIn, session: DB, user: CurrentUser, at: Now) -> TokenOut:
    """A bearer token acting as the current user; shown once."""
    token = auth.issue_token(session, user, body.name, at, fhir_scopes=body.fhir_scopes)
    return TokenOut(token=token, name=body.name)
