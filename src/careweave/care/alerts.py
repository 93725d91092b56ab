"""Alerts staff raise on a person: "aggressive dog at the property", "lives alone, key safe
code with the daughter". An alert is told to everyone in the person's current care team,
in one sentence naming who raised it (``alert:<category>`` notifications, one per member,
sharing one moment); the telehealth rules raise the other kind of alert (care/events.py).

Raising one needs the permission to set the team work (``task`` write: every care role)
and a legitimate relationship with the person (objections and break-glass as ever); it is
audited. A person with no care team has nobody to tell, so the alert is refused (422).
"""

from __future__ import annotations

from careweave.care.context import Ctx
from careweave.care.notify import notify_team
from careweave.care.wording import person_name
from careweave.security import audit
from careweave.security.errors import Invalid
from careweave.store.models import Notification

# The FHIR flag-category codes (http://terminology.hl7.org/CodeSystem/flag-category).
CATEGORIES = (
    "diet",
    "drug",
    "lab",
    "admin",
    "contact",
    "clinical",
    "behavioral",
    "research",
    "advance-directive",
    "safety",
)
KIND_PREFIX = "alert:"
MAX_TEXT = 500


def raise_alert(ctx: Ctx, nhs_number: str, category: str, text: str) -> list[Notification]:
    """Tell the person's care team of an alert; the notifications sent, first one first."""
    person = ctx.person(nhs_number, "task", "write")
    if category not in CATEGORIES:
        raise Invalid(f"category: one of {', '.join(CATEGORIES)}")
    text = " ".join(text.split())
    if not text:
        raise Invalid("text: say what the alert is")
    if len(text) > MAX_TEXT:
        raise Invalid(f"text: {MAX_TEXT} characters at most")
    sent = notify_team(
        ctx.session,
        nhs_number,
        ["*"],
        kind=KIND_PREFIX + category,
        subject=f"{ctx.user.display_name} raised an alert about {person_name(person)}: {text}",
        now=ctx.now,
    )
    if not sent:
        raise Invalid(
            f"subject: {person_name(person)} has no care team to alert; add them to one first"
        )
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="alert",
        resource_id=sent[0].id,
        nhs_number=nhs_number,
        detail=f"{category} alert to {len(sent)} team members",
        now=ctx.now,
    )
    return sent
