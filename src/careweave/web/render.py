"""Templates, the page context (user, CSRF token, navigation) and error pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.datastructures import FormData

from careweave.api.deps import SESSION_COOKIE, Context
from careweave.care.context import Ctx
from careweave.care.wording import uk_date
from careweave.security import access, auth
from careweave.security.roles import CARE_PROVIDER, allowed
from careweave.store.models import LoginSession, Person, User

# The templates and their filters live in web/templating.py (no web framework there).
from careweave.web.templating import Fragment, env, splice


def nav_for(user: User | None, *, alarms: bool = False) -> list[tuple[str, str]]:
    """The header's menu; ``alarms`` for the staff of the alarm responder services."""
    if user is None:
        return [("Service directory", "/app/directory")]
    items = [("Home", "/app/")]
    if allowed(user.role, "person", "read"):
        items.append(("Find a person", "/app/search"))
    if user.role == CARE_PROVIDER:
        # A home-care provider works from their clients and visits, not a risk worklist.
        items.append(("My clients", "/app/#clients"))
    elif allowed(user.role, "register", "read"):
        items.append(("Worklist", "/app/worklist"))
    if allowed(user.role, "referral", "read"):
        items.append(("Referrals", "/app/referrals"))
    if alarms:
        items.append(("Alarms", "/app/incidents"))
    if allowed(user.role, "care_plan", "read"):
        items.append(("Discharges", "/app/discharges"))
    if allowed(user.role, "mdt", "read"):
        items.append(("MDT meetings", "/app/mdt"))
    if allowed(user.role, "pseudonymised", "read"):
        items.append(("Population", "/app/population"))
    if allowed(user.role, "maturity", "write"):
        # those who rate the matrices; care-team roles, who only read, follow links to it
        items.append(("Maturity", "/app/maturity"))
    if allowed(user.role, "user", "read"):
        items.append(("Users", "/app/users"))
    if allowed(user.role, "outbox", "read"):
        items.append(("Outbox", "/app/outbox"))
    if allowed(user.role, "audit", "read"):
        items.append(("Refused access", "/app/refused-access"))
    items.append(("Service directory", "/app/directory"))
    return items


class LazyHTMLResponse(HTMLResponse):
    """An HTML page rendered when it is sent, i.e. after the request's transaction ended.

    SQLite serialises writers (every request audits, so every request writes):
    rendering after the commit keeps the store's lock for the queries only.
    The context holds ORM objects loaded with expire_on_commit=False.
    """

    def __init__(self, template: str, context: dict[str, Any], status_code: int) -> None:
        self._template = template
        self._context = context
        super().__init__(content=b"", status_code=status_code)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import anyio

        text = await anyio.to_thread.run_sync(
            lambda: env.get_template(self._template).render(**self._context)
        )
        kept = [v for v in self._context.values() if isinstance(v, Fragment)]
        self.body = splice(text, kept) if kept else self.render(text)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.raw_headers.append((b"content-length", str(len(self.body)).encode("latin-1")))
        await super().__call__(scope, receive, send)


def html(
    request: Request,
    template: str,
    *,
    user: User | None = None,
    csrf: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    full = {
        "request": request,
        "user": user,
        "csrf": csrf,
        "nav": nav_for(user),
        "can_search": user is not None and allowed(user.role, "person", "read"),
        "path": request.url.path,
        "today": uk_date(dt.datetime.now(dt.UTC)),
        "orgs": {},
        **context,
    }
    errors = full.get("errors") or []
    full.setdefault(
        "field_errors",
        {e[0]: e[1] for e in errors if isinstance(e, tuple) and e[0]},
    )
    return LazyHTMLResponse(template, full, status)


ERROR_TITLES = {
    400: "There is a problem with that request",
    403: "You cannot see this page",
    404: "Page not found",
    405: "That page cannot do that",
    409: "That change clashes with the current record",
    422: "There is a problem with what you entered",
    500: "Sorry, there is a problem with the service",
}


def _signed_in(request: Request) -> tuple[User | None, str]:
    """The signed-in user and CSRF token for an error page (so it keeps the account bar
    and navigation), or (None, "") when there is no valid session or no store."""
    token = request.cookies.get(SESSION_COOKIE)
    state = getattr(request.app.state, "careweave", None)
    if not token or state is None:
        return None, ""
    try:
        with state.sessions() as session:
            found = auth.resolve_session(session, token, state.clock())
            if found is None:
                return None, ""
            user, login = found
            session.expunge(user)
            return user, login.csrf_token
    except Exception:  # an error page must render even when the store is down
        return None, ""


def render_error(
    request: Request,
    status: int,
    message: str,
    hint: str | None = None,
    again: str | None = None,
) -> HTMLResponse:
    """An NHS.UK error page with the header, account and navigation of whoever is signed in."""
    user, csrf = _signed_in(request)
    return html(
        request,
        "error.html",
        user=user,
        csrf=csrf,
        status=status,
        title=ERROR_TITLES.get(status, "Sorry, there is a problem"),
        message=message,
        hint=hint,
        again=again,
        code=status,
    )


@dataclass
class Page:
    """What every signed-in page handler gets: the care context and the CSRF token."""

    request: Request
    ctx: Ctx
    csrf: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> User:
        return self.ctx.user

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        from careweave.web.worklist_query import organisations

        context.setdefault("today", uk_date(self.ctx.now))
        context.setdefault("orgs", organisations(self.ctx.session))
        context.setdefault("nav", nav_for(self.user, alarms=self.responder()))
        person = context.get("person")
        if isinstance(person, Person) and "emergency" not in context:
            context["emergency"] = access.emergency_grant(
                self.ctx.session, self.user, person.nhs_number, self.ctx.now
            )
        return html(
            self.request, template, user=self.user, csrf=self.csrf, status=status, **context
        )

    def responder(self) -> bool:
        """Whether I am on the staff of the telecare control centre or rapid response."""
        from careweave.care import incidents
        from careweave.care.services import my_service_ids

        mine = my_service_ids(self.ctx.session, self.user)
        return bool(set(incidents.RESPONDERS) & set(mine))

    def people(self, nhs_numbers: Iterable[str | None]) -> dict[str, Person]:
        """The people index rows for the NHS numbers a list shows (for names in its rows)."""
        wanted = sorted({n for n in nhs_numbers if n})
        out: dict[str, Person] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for person in self.ctx.session.execute(
                select(Person).where(Person.nhs_number.in_(chunk))
            ).scalars():
                out[person.nhs_number] = person
        return out


def page(request: Request, ctx: Context) -> Page:
    token = request.cookies.get(SESSION_COOKIE)
    login = ctx.session.get(LoginSession, auth.token_digest(token)) if token else None
    return Page(request, ctx, login.csrf_token if login is not None else "")


PageDep = Annotated[Page, Depends(page)]


async def form_data(request: Request) -> FormData:
    """The posted form, read in the event loop so page handlers can stay sync (off the loop)."""
    from careweave.api.deps import MAX_FORM_PART

    return await request.form(max_part_size=MAX_FORM_PART)


Form_ = Annotated[FormData, Depends(form_data)]
