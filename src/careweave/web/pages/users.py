"""Administrators' user page: every account with its state, and the actions that end or
restore access: unlock after failed sign-ins, revoke API tokens, deactivate a leaver.

The same domain functions as the API (``careweave.security.auth``) and the same audit
entries; every action is a form post with the CSRF token, so it works without JavaScript.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from careweave.security import audit, auth
from careweave.security.errors import Invalid, NotFound
from careweave.store.models import ApiToken, User
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/users", response_class=HTMLResponse)
def users(p: PageDep) -> Response:
    return _users_page(p, [], None, 200)


def _users_page(
    p: PageDep, errors: list[tuple[str, str]], opened: int | None, status: int
) -> Response:
    """The accounts table; ``opened`` is the account whose deactivate form is shown open
    (with its error) after a refused confirmation."""
    p.ctx.require("user", "read")
    live: dict[int, int] = {
        user_id: n
        for user_id, n in p.ctx.session.execute(
            select(ApiToken.user_id, func.count())
            .where(ApiToken.revoked_at.is_(None))
            .group_by(ApiToken.user_id)
        ).tuples()
    }
    rows = list(p.ctx.session.execute(select(User).order_by(User.username)).scalars())
    return p.render(
        "users.html",
        status=status,
        title="Users",
        rows=[(u, int(live.get(u.id, 0))) for u in rows],
        now=p.ctx.now,
        errors=errors,
        opened=opened,
    )


def _target(p: PageDep, user_id: int) -> User:
    p.ctx.require("user", "write")
    u = p.ctx.session.get(User, user_id)
    if u is None:
        raise NotFound(f"user {user_id}: no such user")
    return u


@router.post("/users/{user_id}/unlock")
def unlock(user_id: PathId, p: PageDep) -> Response:
    u = _target(p, user_id)
    auth.unlock(u)
    audit.record(
        p.ctx.session,
        actor=p.user.username,
        action="write",
        resource="user",
        resource_id=u.id,
        detail="unlock",
        now=p.ctx.now,
    )
    return RedirectResponse(f"/app/users#user-{u.id}", status_code=303)


@router.post("/users/{user_id}/revoke-tokens")
def revoke_tokens(user_id: PathId, p: PageDep) -> Response:
    u = _target(p, user_id)
    auth.revoke_tokens(p.ctx.session, u, p.ctx.now, actor=p.user.username)
    return RedirectResponse(f"/app/users#user-{u.id}", status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate(user_id: PathId, p: PageDep, form: Form_) -> Response:
    """Deactivation cannot be undone from here, so the form asks for the username; a
    mismatch is shown on the page in the NHS.UK error pattern, the form left open."""
    u = _target(p, user_id)
    confirm = form.get("confirm")
    typed = confirm.strip() if isinstance(confirm, str) else ""
    if u.id == p.user.id:
        raise Invalid("You cannot deactivate your own account: ask another administrator")
    if typed != u.username:
        what = "Enter" if not typed else "The username you typed does not match: enter"
        message = f"{what} the username {u.username} to confirm deactivating the account"
        return _users_page(p, [(f"confirm-{u.id}", message)], u.id, 422)
    auth.deactivate(p.ctx.session, u, p.ctx.now, actor=p.user.username)
    return RedirectResponse(f"/app/users#user-{u.id}", status_code=303)
