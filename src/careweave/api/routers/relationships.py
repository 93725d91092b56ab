"""People linked to people: carer, cared-for, next of kin, spouse (care/relationships.py)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from careweave.api.deps import Context
from careweave.api.routers.people import Nhs, PathId
from careweave.api.schemas import In, NhsNumber
from careweave.care import relationships
from careweave.care.wording import person_name

router = APIRouter(tags=["people"])


class LinkIn(In):
    related_nhs_number: NhsNumber
    relationship: Literal["carer_of", "cared_for_by", "next_of_kin", "spouse", "other"] = Field(
        description="What this person is to the related person (carer_of: this person cares "
        "for them)"
    )
    start_date: dt.date | None = None


class LinkOut(BaseModel):
    id: int
    relationship: str
    reads: str = Field(description="How it reads from this person's side, e.g. 'cares for'")
    other_nhs_number: str
    other_name: str
    start_date: dt.date | None
    end_date: dt.date | None
    source: str


def _out(ctx: Context, nhs: str) -> list[LinkOut]:
    return [
        LinkOut(
            id=link.id,
            relationship=link.relationship,
            reads=reads,
            other_nhs_number=other.nhs_number,
            other_name=person_name(other),
            start_date=link.start_date,
            end_date=link.end_date,
            source=link.source,
        )
        for link, other, reads in relationships.links(ctx, nhs)
    ]


@router.get("/people/{nhs_number}/relationships", response_model=list[LinkOut])
def person_links(nhs_number: Nhs, ctx: Context) -> list[LinkOut]:
    """The person's carers, cared-for people, next of kin and spouse. Seeing a link does
    not open the other person's record."""
    return _out(ctx, nhs_number)


@router.post("/people/{nhs_number}/relationships", response_model=LinkOut, status_code=201)
def add_link(nhs_number: Nhs, body: LinkIn, ctx: Context) -> LinkOut:
    link = relationships.add_link(
        ctx, nhs_number, body.related_nhs_number, body.relationship, body.start_date
    )
    return next(x for x in _out(ctx, nhs_number) if x.id == link.id)


@router.delete("/people/{nhs_number}/relationships/{link_id}", status_code=204)
def end_link(nhs_number: Nhs, link_id: PathId, ctx: Context) -> Response:
    """End the relationship today (kept in the history)."""
    relationships.end_link(ctx, nhs_number, link_id)
    return Response(status_code=204)
