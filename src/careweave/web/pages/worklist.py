"""Worklist of a practice, cluster or locality by CCM level; CSV export; enrol from the list."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care import register
from careweave.care.register import LEAD_TEAM_ROLE
from careweave.care.wording import uk_date
from careweave.security import access
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.security.roles import CARE_PROVIDER, allowed
from careweave.store.models import Person, User
from careweave.web import worklist_query as wq
from careweave.web.cache import TtlCache
from careweave.web.errors import form_error
from careweave.web.render import Form_, PageDep
from careweave.web.templating import age

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Form(pattern=r"^[0-9]{10}$")]
_SEGMENTS = TtlCache(300.0)
CSV_MAX_ROWS = 50_000


def segment_options(session: Session) -> list[str]:
    """The segments present in the people index, for the filter (cached 5 minutes)."""
    return _SEGMENTS.get(str(session.get_bind().engine.url), lambda: wq.segments(session))


Level = Annotated[list[int], Query(default_factory=list)]
Text = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9 _+:./-]*$")]
Frailty = Annotated[str | None, Query(pattern="^(fit|mild|moderate|severe|unknown)?$")]
Sort = Annotated[str, Query(pattern="^(risk|level|age|nhs)$")]
Dir = Annotated[str, Query(pattern="^(asc|desc)$")]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


@dataclass(frozen=True)
class FilterQuery:
    """The worklist's filter and sort parameters: one FastAPI dependency (its fields are the
    query parameters), shared by the page and its CSV export."""

    level: Level
    area: Text = None
    segment: Text = None
    frailty: Frailty = None
    not_case_managed: bool = False
    recent_admission: bool = False
    telehealth_alert: bool = False
    sort: Sort = "risk"
    dir: Dir = "desc"

    def filters(self, page: int, submitted: bool) -> wq.Filters:
        """Defaults to levels 4 and 3 until the form has been submitted."""
        return wq.Filters(
            levels=sorted(set(self.level), reverse=True) if (self.level or submitted) else [4, 3],
            area=self.area or None,
            segment=self.segment or None,
            frailty=self.frailty or None,
            not_case_managed=self.not_case_managed,
            recent_admission=self.recent_admission,
            telehealth_alert=self.telehealth_alert,
            sort=self.sort,
            direction=self.dir,
            page=page,
        )


Filter = Annotated[FilterQuery, Depends()]


def _audit_rows(p: PageDep, rows: list[Person], what: str) -> None:
    """One entry per page or export naming the people in it (not one per row)."""
    access.audit_list(
        p.ctx.session,
        p.user,
        "register",
        [r.nhs_number for r in rows],
        p.ctx.now,
        what=f"basis=worklist; {what}",
    )


@router.get("/worklist", response_class=HTMLResponse)
def worklist(
    request: Request,
    p: PageDep,
    q: Filter,
    page: PageNo = 1,
    applied: bool = False,
    enrolled: Annotated[str | None, Query(pattern=r"^[0-9]{10}$")] = None,
) -> Response:
    p.ctx.require("register", "read")
    if p.user.role == CARE_PROVIDER:  # their clients, not an empty risk list (docs/web.md)
        return RedirectResponse("/app/#clients", status_code=303)
    f = q.filters(page, applied)
    area_list = wq.areas(p.ctx.session, p.user)
    total, rows = wq.run(p.ctx.session, p.user, f, p.ctx.now, area_list)
    _audit_rows(p, [r for r, _ in rows], f"page {f.page}")
    pages = max(1, -(-total // wq.PAGE_SIZE))
    today = uk_date(p.ctx.now)

    def link(**change: str) -> str:
        items = [(k, v) for k, v in f.query_items() if k not in change and k != "page"]
        items += list(change.items())
        return "/app/worklist?" + urlencode([("applied", "1"), *items])

    return p.render(
        "worklist.html",
        title="Worklist",
        f=f,
        rows=[(r, e, age(r.date_of_birth, today)) for r, e in rows],
        total=total,
        pages=pages,
        areas=area_list,
        segments=segment_options(p.ctx.session),
        frailty_options=wq.FRAILTY,
        link=link,
        can_mdt=allowed(p.user.role, "mdt", "write"),
        # only those who may put people on the register are offered the link (else a 403)
        can_enrol=allowed(p.user.role, "register", "write"),
        csv_link="/app/worklist.csv?" + urlencode(f.query_items()),
        prev_link=("/app/worklist?" + urlencode([("applied", "1"), *f.query_items(f.page - 1)]))
        if f.page > 1
        else None,
        next_link=("/app/worklist?" + urlencode([("applied", "1"), *f.query_items(f.page + 1)]))
        if f.page < pages
        else None,
        enrolled=enrolled,
    )


# OWASP CSV injection: a cell beginning with one of these is read as a formula by
# spreadsheets (=HYPERLINK(...) from a source organisation code); prefix it with a quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell that no spreadsheet runs as a formula (OWASP "CSV Injection" guidance:
    prefix a leading =, +, -, @, tab or carriage return with a single quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


CSV_HEADER = (
    "nhs_number",
    "age",
    "sex",
    "practice_id",
    "ccm_level",
    "risk_percentile",
    "risk_probability",
    "segment",
    "frailty_category",
    "case_managed",
    "explanation",
)


@router.get("/worklist.csv")
def worklist_csv(p: PageDep, q: Filter) -> Response:
    """Every row matching the filters (up to 50,000), audited as one entry naming them;
    every source-derived cell neutralised against formula injection."""
    p.ctx.require("register", "read")
    f = q.filters(1, True)
    area_list = wq.areas(p.ctx.session, p.user)
    total, rows = wq.export(p.ctx.session, p.user, f, p.ctx.now, area_list, CSV_MAX_ROWS)
    access.audit_list(
        p.ctx.session,
        p.user,
        "register",
        [r.nhs_number for r in rows],
        p.ctx.now,
        what="basis=worklist; csv export",
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    today = uk_date(p.ctx.now)
    w.writerows(
        [
            cell(r.nhs_number),
            age(r.date_of_birth, today),
            cell(r.sex),
            cell(r.practice_id),
            r.ccm_level or "",
            "" if r.risk_percentile is None else f"{r.risk_percentile:.1f}",
            "" if r.risk_probability is None else f"{r.risk_probability:.4f}",
            cell(r.segment),
            cell(r.frailty_category),
            "yes" if r.enrolled else "no",
            cell("; ".join(str(x) for x in r.risk_explanation or [])),
        ]
        for r in rows
    )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="worklist.csv"',
            "X-Total-Rows": str(total),
        },
    )


def _leads(p: PageDep) -> list[User]:
    """Who can be the accountable lead: me if my role can, and leads in my team or locality."""
    q = select(User).where(User.active, User.role.in_(list(LEAD_TEAM_ROLE)))
    if p.user.locality_id:
        q = q.where((User.locality_id == p.user.locality_id) | (User.id == p.user.id))
    elif p.user.org_id:
        q = q.where((User.org_id == p.user.org_id) | (User.id == p.user.id))
    return list(p.ctx.session.execute(q.order_by(User.display_name)).scalars())


@router.get("/worklist/enrol", response_class=HTMLResponse)
def enrol_form(p: PageDep, nhs_number: Annotated[str, Query(pattern=r"^[0-9]{10}$")]) -> Response:
    person = p.ctx.person(nhs_number, "register", "write")
    return p.render(
        "enrol.html",
        title="Enrol in case management",
        person=person,
        leads=_leads(p),
        errors=[],
        reason="",
    )


ENROL_FIELDS = {
    "reason": ("reason", "Why are you enrolling them?"),
    "lead_professional_id": ("lead_professional_id", "Accountable lead professional"),
}


@router.post("/worklist/enrol")
def enrol(p: PageDep, nhs_number: Nhs, form: Form_) -> Response:
    """Every problem at once, each at its field, in the NHS.UK error pattern; the domain's
    own refusals (the person has died, a role that cannot lead) too."""

    def get(k: str) -> str:
        v = form.get(k)
        return v.strip() if isinstance(v, str) else ""

    reason, lead = get("reason"), get("lead_professional_id")
    errors: list[tuple[str, str]] = []
    if not reason:
        errors.append(("reason", "Enter why you are enrolling them"))
    elif len(reason) > 2000:
        errors.append(("reason", "Why are you enrolling them must be 2,000 characters or fewer"))
    if not lead.isdigit() or not 1 <= int(lead) <= 2**31 - 1:
        errors.append(("lead_professional_id", "Choose the accountable lead professional"))
    if not errors:
        try:
            register.enrol(p.ctx, nhs_number, reason=reason, lead_professional_id=int(lead))
        except (Invalid, NotFound, Conflict) as e:
            errors.append(form_error(e, ENROL_FIELDS))
    if errors:
        person = p.ctx.person(nhs_number, "register", "write")
        return p.render(
            "enrol.html",
            status=422,
            title="Enrol in case management",
            person=person,
            leads=_leads(p),
            errors=errors,
            reason=reason,
            lead=lead,
        )
    return RedirectResponse(f"/app/worklist?enrolled={nhs_number}", status_code=303)
