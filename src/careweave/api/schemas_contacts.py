"""Request and response bodies of the contacts API: a person's contacts outside the
service (a daughter 150 miles away) and a staff member's own channels (email, text).
Split from :mod:`careweave.api.schemas` to keep that module small."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from careweave.api.schemas import In, Out, Text

ContactTopic = Literal["admission", "discharge", "fall_alarm", "carer_at_risk"]
ContactRelationship = Literal[
    "daughter", "son", "spouse", "partner", "sibling", "grandchild", "friend", "neighbour", "other"
]


class ContactIn(In):
    name: Text = Field(min_length=1, max_length=200)
    relationship: ContactRelationship
    email: Text | None = Field(default=None, max_length=254)
    phone: Text | None = Field(default=None, max_length=32)
    by_email: bool = False
    by_sms: bool = False
    topics: list[ContactTopic] = Field(default_factory=list, max_length=4)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ContactOut(Out):
    id: int
    nhs_number: str
    name: str
    relationship: str
    email: str | None
    phone: str | None
    by_email: bool
    by_sms: bool
    topics: list[str]
    recorded_at: dt.datetime
    version: int


StaffKind = Literal[
    "event:fall_alarm",
    "incident",
    "incident_breach",
    "carer_at_risk",
    "event:admission",
    "event:discharge",
    "event:ae_attendance",
    "referral",
    "referral_breach",
    "care_plan",
]


class StaffChannelIn(In):
    email: Text | None = Field(default=None, max_length=254)
    phone: Text | None = Field(default=None, max_length=32)
    by_email: bool = False
    by_sms: bool = False
    kinds: list[StaffKind] = Field(default_factory=list, max_length=10)


class StaffChannelOut(Out):
    email: str | None
    phone: str | None
    by_email: bool
    by_sms: bool
    kinds: list[str]
