"""Templates, the page context (user, CSRF token, navigation) and error pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.datastructures import FormData

from careweave.api.deps import SESSION_COOKIE, Context
from careweave.care.context import Ctx
from careweave.security import access, auth
from careweave.security.roles import allowed
from careweave.store.models import LoginSession, Person, User

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

ROLE_NAMES = {
    "clinician": "Clinician (GP)",
    "care_coordinator": "Care co-ordinator",
    "case_manager": "Case manager",
    "social_worker": "Social worker",
    "care_provider": "Care provider",
    "analyst": "Commissioner / analyst",
    "administrator": "Administrator",
    "integration": "Integration feed",
}


def nhs_format(nhs: str | None) -> str:
    """NHS numbers are shown 3-3-4, as on every NHS record."""
    if not nhs or len(nhs) != 10:
        return nhs or ""
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%-d %b %Y %H:%M")
    return value.strftime("%-d %b %Y")


def age(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def org_name(org_id: str | None, orgs: dict[str, Any]) -> str:
    """An organisation by its name (the code only when the index does not know it)."""
    if not org_id:
        return "Not registered"
    o = orgs.get(org_id)
    return str(o.name) if o is not None else org_id


# Preferred languages (ISO 639-1) as care staff say them; the common ones in England and
# Wales, else the code as recorded.
LANGUAGES = {
    "en": "English",
    "cy": "Welsh",
    "gd": "Scottish Gaelic",
    "ga": "Irish",
    "pl": "Polish",
    "ro": "Romanian",
    "pa": "Punjabi",
    "ur": "Urdu",
    "bn": "Bengali",
    "gu": "Gujarati",
    "ar": "Arabic",
    "pt": "Portuguese",
    "es": "Spanish",
    "so": "Somali",
    "lt": "Lithuanian",
    "tr": "Turkish",
    "it": "Italian",
    "fr": "French",
    "zh": "Chinese",
    "ta": "Tamil",
    "bg": "Bulgarian",
    "fa": "Persian",
    "ku": "Kurdish",
    "uk": "Ukrainian",
    "ru": "Russian",
    "hi": "Hindi",
    "sq": "Albanian",
    "ti": "Tigrinya",
    "ps": "Pashto",
    "de": "German",
}


def language(code: str | None) -> str:
    if not code:
        return "Not recorded"
    return LANGUAGES.get(code.lower(), code)


env.filters["nhs"] = nhs_format
env.filters["when"] = when
env.filters["age_on"] = age
env.filters["org_name"] = org_name
env.filters["language"] = language
env.globals["ROLE_NAMES"] = ROLE_NAMES


def nav_for(user: User | None) -> list[tuple[str, str]]:
    if user is None:
        return [("Service directory", "/app/directory")]
    items = [("Home", "/app/")]
    if allowed(user.role, "person", "read"):
        items.append(("Find a person", "/app/search"))
    if allowed(user.role, "register", "read"):
        items.append(("Worklist", "/app/worklist"))
    if allowed(user.role, "mdt", "read"):
        items.append(("MDT meetings", "/app/mdt"))
    if allowed(user.role, "pseudonymised", "read"):
        items.append(("Population", "/app/population"))
    if allowed(user.role, "user", "read"):
        items.append(("Users", "/app/users"))
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
        self.body = self.render(text)
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
        "path": request.url.path,
        "today": dt.datetime.now(dt.UTC).date(),
        "orgs": {},
        **context,
    }
    return LazyHTMLResponse(template, full, status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {
        403: "You cannot see this page",
        404: "Page not found",
        409: "That change clashes with the current record",
        422: "There is a problem with what you entered",
    }
    return html(
        request,
        "error.html",
        status=status,
        title=titles.get(status, "Sorry, there is a problem"),
        message=message,
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

        context.setdefault("today", self.ctx.now.date())
        context.setdefault("orgs", organisations(self.ctx.session))
        person = context.get("person")
        if isinstance(person, Person) and "emergency" not in context:
            context["emergency"] = access.emergency_grant(
                self.ctx.session, self.user, person.nhs_number, self.ctx.now
            )
        return html(
            self.request, template, user=self.user, csrf=self.csrf, status=status, **context
        )

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
    return await request.form()


Form_ = Annotated[FormData, Depends(form_data)]
