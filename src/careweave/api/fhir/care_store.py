"""The operational store on ``/fhir``: who works here (Practitioner, PractitionerRole), the
register (EpisodeOfCare), care teams, referrals (ServiceRequest), tasks, alerts (Flag),
notifications (Communication), the service directory (HealthcareService), the latest
risk score (RiskAssessment) and assessments (QuestionnaireResponse).

Each is a :class:`~careweave.api.fhir.kinds.Kind`: read and search with the access rules
of the JSON API. Decisions where FHIR and the store differ (docs/fhir.md):

- Practitioner and PractitionerRole are staff accounts (one role each, id = user id);
  system feeds (the ``integration`` role) are not people and are left out. Staff names
  and roles are not personal data of patients: any role that may read the service
  directory may read them; their reads are not audited (as for Organization).
- CareTeam is one per person (id = NHS number), its current members only.
- ServiceRequest keeps the referral's own status as an extension; its service's staff
  keep sight of a referral after it closes (as ``GET /referrals/{id}``).
- Communication is a notification: only its recipient reads it.
- Flag is an alert about a person, a telehealth rule's or one staff raised (every
  care-team member told shares one Flag, the first notification's id), for anyone with a
  relationship with the person.
- RiskAssessment is the person's latest score (id = NHS number), as the people index
  holds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.api.fhir import care_resources as cr
from careweave.api.fhir.kinds import (
    Kind,
    Param,
    add_routes,
    boolean_param,
    date_param,
    reference_param,
    status_param,
    string_param,
    token_param,
)
from careweave.api.fhir.outcome import FhirError
from careweave.care import referrals
from careweave.care.alerts import KIND_PREFIX as ALERT_KIND
from careweave.care.context import Ctx
from careweave.security import access
from careweave.security.roles import INTEGRATION
from careweave.store.models import (
    Assessment,
    CareTeamMember,
    Episode,
    Notification,
    Person,
    Referral,
    Service,
    Task,
    User,
)

router = APIRouter()


def fixed_status(code: str) -> Param:
    """A status every row of the type has (e.g. a Communication is ``completed``)."""

    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            if code not in value.split(","):
                q = q.where(false())
        return q

    return Param("token", apply)


def _open_episode(q: Select[Any], values: list[str]) -> Select[Any]:
    for value in values:
        asked = set(value.split(","))
        if asked - {"active", "finished"}:
            raise FhirError(400, "status: an EpisodeOfCare here is active or finished")
        if asked == {"active"}:
            q = q.where(Episode.end_date.is_(None))
        elif asked == {"finished"}:
            q = q.where(Episode.end_date.is_not(None))
    return q


def _register_type(q: Select[Any], values: list[str]) -> Select[Any]:
    """``type``: every register episode is ``case-management`` (the warehouse's social-care
    episodes have types of their own)."""
    for value in values:
        if cr.EPISODE_TYPE not in {v.rpartition("|")[2] for v in value.split(",")}:
            q = q.where(false())
    return q


def _referral_identifier(q: Select[Any], values: list[str]) -> Select[Any]:
    for value in values:
        ids = []
        for v in value.split(","):
            code = v.rpartition("|")[2] if v.rpartition("|")[0] in ("", cr.ID + "referral") else ""
            m = re.fullmatch(r"R?([0-9]{1,9})", code)
            if m:
                ids.append(int(m.group(1)))
        q = q.where(Referral.id.in_(ids))
    return q


def _staff() -> ColumnElement[bool]:
    return User.role != INTEGRATION


def _members() -> ColumnElement[bool]:
    return Person.nhs_number.in_(
        select(CareTeamMember.nhs_number).where(CareTeamMember.ended_at.is_(None))
    )


def _alerts() -> ColumnElement[bool]:
    """One Flag per alert: a telehealth alert's notifications share its event; those of
    an alert staff raised (care/alerts.py) share the moment and the sentence."""
    return or_(
        Notification.id.in_(
            select(func.min(Notification.id))
            .where(Notification.kind.like("telehealth:%"), Notification.nhs_number.is_not(None))
            .group_by(Notification.nhs_number, Notification.event_id, Notification.kind)
        ),
        Notification.id.in_(
            select(func.min(Notification.id))
            .where(Notification.kind.like(ALERT_KIND + "%"), Notification.nhs_number.is_not(None))
            .group_by(
                Notification.nhs_number,
                Notification.kind,
                Notification.created_at,
                Notification.subject,
            )
        ),
    )


def _my_tasks(ctx: Ctx) -> ColumnElement[bool]:
    return or_(
        Task.owner_user_id == ctx.user.id,
        Task.owner_service_id.in_(access.staff_services(ctx.user)),
    )


def read_referral(ctx: Ctx, value: str) -> Referral:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise FhirError(404, f"ServiceRequest/{value}: no such resource")
    return referrals.get_referral(ctx, int(value))


REFERRAL_CODES: dict[str, tuple[Any, ...]] = {}
for _store, _fhir in cr.REFERRAL_STATUS.items():
    REFERRAL_CODES.setdefault(_fhir, ())
    REFERRAL_CODES[_fhir] += (_store,)
for _code in ("draft", "on-hold", "entered-in-error", "unknown"):
    REFERRAL_CODES[_code] = ()
TASK_CODES = {fhir: (store,) for store, fhir in cr.TASK_STATUS.items()}


def _declare(
    name: str,
    model: Any,
    id_column: Any,
    permission: str,
    to_fhir: Callable[[Session, Any], dict[str, Any]],
    **fields: Any,
) -> Kind:
    """A :class:`Kind` with what every type here shares: its UK Core profile (when
    ``cr.PROFILES`` names one) and, for a resource about a person, ``_include=<Type>:patient``."""
    if fields.get("person") is not None:
        fields.setdefault("includes", (f"{name}:patient",))
    profile = cr.PROFILES.get(name)
    return Kind(name, model, id_column, permission, to_fhir, profile=profile, **fields)


KINDS = (
    _declare(
        "Practitioner",
        User,
        User.id,
        "service",
        cr.practitioner,
        params={
            "identifier": token_param(User.username, cr.ID + "username"),
            "name": string_param(User.display_name),
            "active": boolean_param(User.active),
        },
        where=_staff,
    ),
    _declare(
        "PractitionerRole",
        User,
        User.id,
        "service",
        cr.practitioner_role,
        params={
            "practitioner": reference_param(User.id, "Practitioner", integer=True),
            "organization": reference_param(User.org_id, "Organization"),
            "role": token_param(User.role, cr.CS + "user-role"),
            "active": boolean_param(User.active),
        },
        where=_staff,
    ),
    _declare(
        "EpisodeOfCare",
        Episode,
        Episode.id,
        "register",
        cr.episode_of_care,
        person=Episode.nhs_number,
        params={
            "status": Param("token", _open_episode),
            "date": date_param("date", Episode.start_date),
            "care-manager": reference_param(
                Episode.lead_professional_id, "Practitioner", integer=True
            ),
            "type": Param("token", _register_type),
            # The register keeps no change time (its resources carry no meta.lastUpdated).
            "_lastUpdated": Param("date", lambda q, _values: q.where(false())),
        },
    ),
    _declare(
        "CareTeam",
        Person,
        Person.nhs_number,
        "care_team",
        cr.care_team,
        person=Person.nhs_number,
        params={"status": fixed_status("active")},
        where=_members,
        int_id=False,
    ),
    _declare(
        "ServiceRequest",
        Referral,
        Referral.id,
        "referral",
        cr.service_request,
        person=Referral.nhs_number,
        params={
            "identifier": Param("token", _referral_identifier),
            "status": status_param(Referral.status, REFERRAL_CODES),
            "authored": date_param("authored", Referral.received_at, instant=True),
            "performer": reference_param(Referral.service_id, "HealthcareService"),
            "priority": token_param(Referral.urgency),
        },
        read=read_referral,
    ),
    _declare(
        "Task",
        Task,
        Task.id,
        "task",
        cr.task,
        person=Task.nhs_number,
        params={
            "status": status_param(Task.status, TASK_CODES),
            "authored-on": date_param("authored-on", Task.created_at, instant=True),
            "owner": reference_param(Task.owner_user_id, "Practitioner", integer=True),
        },
        mine=_my_tasks,
    ),
    _declare(
        "Flag",
        Notification,
        Notification.id,
        "notification",
        cr.flag,
        person=Notification.nhs_number,
        params={
            "status": fixed_status("active"),
            "date": date_param("date", Notification.created_at, instant=True),
            "_lastUpdated": date_param("_lastUpdated", Notification.created_at, instant=True),
        },
        where=_alerts,
    ),
    _declare(
        "Communication",
        Notification,
        Notification.id,
        "notification",
        cr.communication,
        person=Notification.nhs_number,
        params={
            "status": fixed_status("completed"),
            "sent": date_param("sent", Notification.created_at, instant=True),
            "category": token_param(Notification.kind, cr.CS + "notification-kind"),
        },
        mine=lambda ctx: Notification.recipient_user_id == ctx.user.id,
        only_mine=True,
    ),
    _declare(
        "HealthcareService",
        Service,
        Service.id,
        "service",
        cr.healthcare_service,
        params={
            "identifier": token_param(Service.id, cr.ID + "service"),
            "name": string_param(Service.name),
            "active": boolean_param(Service.active),
            "_lastUpdated": date_param("_lastUpdated", Service.updated_at, instant=True),
        },
        int_id=False,
    ),
    _declare(
        "RiskAssessment",
        Person,
        Person.nhs_number,
        "person",
        cr.risk_assessment,
        person=Person.nhs_number,
        params={
            "status": fixed_status("final"),
            "date": date_param("date", Person.risk_as_of),
            "_lastUpdated": date_param("_lastUpdated", Person.synced_at, instant=True),
        },
        where=lambda: Person.risk_as_of.is_not(None),
        int_id=False,
    ),
    _declare(
        "QuestionnaireResponse",
        Assessment,
        Assessment.id,
        "assessment",
        cr.questionnaire_response,
        person=Assessment.nhs_number,
        params={
            "status": fixed_status("completed"),
            "authored": date_param("authored", Assessment.recorded_at, instant=True),
            "author": reference_param(Assessment.recorded_by, "Practitioner", integer=True),
            "_lastUpdated": date_param("_lastUpdated", Assessment.recorded_at, instant=True),
        },
    ),
)

#: Kinds whose routes are another module's: EpisodeOfCare is served with the warehouse's
#: social-care episodes on the same type (``episodes.py``).
ROUTED_ELSEWHERE = ("EpisodeOfCare",)
for _kind in KINDS:
    if _kind.name not in ROUTED_ELSEWHERE:
        add_routes(router, _kind)
