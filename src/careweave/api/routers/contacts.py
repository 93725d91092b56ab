"""Contacts who are not users, and my own email / SMS opt-in (care/contacts.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from careweave.api.deps import Context
from careweave.api.routers.people import Nhs, PathId
from careweave.api.schemas_contacts import ContactIn, ContactOut, StaffChannelIn, StaffChannelOut
from careweave.care import contacts

router = APIRouter(tags=["contacts and channels"])


def _data(body: ContactIn) -> contacts.ContactIn:
    return contacts.ContactIn(
        body.name,
        body.relationship,
        body.email,
        body.phone,
        body.by_email,
        body.by_sms,
        list(body.topics),
    )


@router.get("/people/{nhs_number}/contacts", response_model=list[ContactOut])
def person_contacts(nhs_number: Nhs, ctx: Context) -> list[ContactOut]:
    return [ContactOut.model_validate(c) for c in contacts.current(ctx, nhs_number)]


@router.post("/people/{nhs_number}/contacts", response_model=ContactOut, status_code=201)
def add_contact(nhs_number: Nhs, body: ContactIn, ctx: Context) -> ContactOut:
    return ContactOut.model_validate(contacts.add(ctx, nhs_number, _data(body)))


@router.put("/people/{nhs_number}/contacts/{contact_id}", response_model=ContactOut)
def change_contact(
    nhs_number: Nhs, contact_id: PathId, body: ContactIn, ctx: Context
) -> ContactOut:
    """Change a contact; a stale ``version`` is 409."""
    c = contacts.change(ctx, nhs_number, contact_id, _data(body), body.version)
    return ContactOut.model_validate(c)


@router.delete("/people/{nhs_number}/contacts/{contact_id}", status_code=204)
def end_contact(nhs_number: Nhs, contact_id: PathId, ctx: Context) -> Response:
    contacts.end(ctx, nhs_number, contact_id, None)
    return Response(status_code=204)


@router.get("/me/channels", response_model=StaffChannelOut | None)
def get_my_channels(ctx: Context) -> StaffChannelOut | None:
    c = contacts.my_channels(ctx)
    return StaffChannelOut.model_validate(c) if c is not None else None


@router.put("/me/channels", response_model=StaffChannelOut)
def put_my_channels(body: StaffChannelIn, ctx: Context) -> StaffChannelOut:
    """Opt in to (or out of) email / SMS for some kinds of my notifications."""
    c = contacts.set_my_channels(
        ctx, body.email, body.phone, body.by_email, body.by_sms, list(body.kinds)
    )
    return StaffChannelOut.model_validate(c)
