"""Family and friends to keep informed (contacts who are not users), and my own alerts.

``/app/people/{nhs}/contacts/new`` and ``/{id}``: the co-ordinator (anyone with
``contact`` write and a relationship with the person) records a contact, the
channels they agreed to and what they agreed to be told about; changes it, or
ends it. ``/app/account/alerts``: a member of staff opts in to having urgent
notifications sent to their phone or email as well. Both show problems in the
NHS.UK error pattern (summary linked to the field, the field marked), and a
contact changed by someone else since the page was opened is refused (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from careweave.care import contacts, outbox
from careweave.security.errors import Conflict, Invalid
from careweave.store.models import Contact
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
Nhs = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="NHS number")]
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FIELDS = {"topics": "topic-1", "kinds": "kind-1"}


def _error(e: Exception) -> tuple[str, str]:
    field, _, text = str(e).partition(": ")
    return FIELDS.get(field, field), (text or str(e))[:1].upper() + (text or str(e))[1:]


def _form(form: Any) -> contacts.ContactIn:
    def get(k: str) -> str:
        v = form.get(k)
        return v.strip() if isinstance(v, str) else ""

    return contacts.ContactIn(
        get("name"),
        get("relationship"),
        get("email") or None,
        get("phone") or None,
        get("by_email") == "yes",
        get("by_sms") == "yes",
        [str(t) for t in form.getlist("topics")],
    )


def _page(
    p: PageDep,
    nhs: str,
    contact: Contact | None,
    values: contacts.ContactIn | None,
    errors: list[Any],
    status: int = 200,
) -> Response:
    person = p.ctx.person(nhs, "contact", "write")
    if values is None and contact is not None:
        values = contacts.ContactIn(
            contact.name,
            contact.relationship,
            contact.email,
            contact.phone,
            contact.by_email,
            contact.by_sms,
            list(contact.topics or []),
        )
    return p.render(
        "contact_edit.html",
        status=status,
        title=f"Change {contact.name}" if contact else "Add someone to keep informed",
        person=person,
        contact=contact,
        v=values or contacts.ContactIn("", "", None, None, False, False, []),
        relationships=contacts.RELATIONSHIPS,
        topics=contacts.TOPICS,
        errors=errors,
    )


def _contact(p: PageDep, nhs: str, contact_id: int) -> Contact:
    for c in contacts.current(p.ctx, nhs, record=False):
        if c.id == contact_id:
            return c
    raise Invalid(f"contact_id: no current contact {contact_id} for this person")


@router.get("/people/{nhs_number}/contacts/new", response_class=HTMLResponse)
def new(nhs_number: Nhs, p: PageDep) -> Response:
    return _page(p, nhs_number, None, None, [])


@router.get("/people/{nhs_number}/contacts/{contact_id}", response_class=HTMLResponse)
def edit(nhs_number: Nhs, contact_id: PathId, p: PageDep) -> Response:
    return _page(p, nhs_number, _contact(p, nhs_number, contact_id), None, [])


@router.post("/people/{nhs_number}/contacts/new")
def add(nhs_number: Nhs, p: PageDep, form: Form_) -> Response:
    data = _form(form)
    try:
        contacts.add(p.ctx, nhs_number, data)
    except Invalid as e:
        return _page(p, nhs_number, None, data, [_error(e)], 422)
    return RedirectResponse(f"/app/people/{nhs_number}#contacts", status_code=303)


@router.post("/people/{nhs_number}/contacts/{contact_id}")
def change(nhs_number: Nhs, contact_id: PathId, p: PageDep, form: Form_) -> Response:
    data = _form(form)
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = 0
    try:
        if form.get("action") == "end":
            contacts.end(p.ctx, nhs_number, contact_id, version)
        else:
            contacts.change(p.ctx, nhs_number, contact_id, data, version)
    except Conflict as e:
        c = _contact(p, nhs_number, contact_id)
        return _page(p, nhs_number, c, None, [("", _error(e)[1])], 409)
    except Invalid as e:
        c = _contact(p, nhs_number, contact_id)
        return _page(p, nhs_number, c, data, [_error(e)], 422)
    return RedirectResponse(f"/app/people/{nhs_number}#contacts", status_code=303)


def _alerts_page(p: PageDep, errors: list[Any], status: int, saved: bool) -> Response:
    mine = contacts.my_channels(p.ctx)
    return p.render(
        "account_alerts.html",
        status=status,
        title="Alerts to my phone or email",
        mine=mine,
        kinds=outbox.STAFF_TEXT,
        chosen=(mine.kinds if mine and mine.kinds else list(outbox.STAFF_KINDS)),
        errors=errors,
        saved=saved,
    )


@router.get("/account/alerts", response_class=HTMLResponse)
def alerts(p: PageDep, saved: int = 0) -> Response:
    return _alerts_page(p, [], 200, saved == 1)


@router.post("/account/alerts")
def save_alerts(p: PageDep, form: Form_) -> Response:
    def get(k: str) -> str:
        v = form.get(k)
        return v.strip() if isinstance(v, str) else ""

    try:
        contacts.set_my_channels(
            p.ctx,
            get("email") or None,
            get("phone") or None,
            get("by_email") == "yes",
            get("by_sms") == "yes",
            [str(k) for k in form.getlist("kinds")],
        )
    except Invalid as e:
        return _alerts_page(p, [_error(e)], 422, False)
    return RedirectResponse("/app/account/alerts?saved=1", status_code=303)
