"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from careweave.care.config import EVENT_TYPES
from careweave.care.plans import CarePlanContent
from careweave.security import auth
from careweave.security.roles import ROLES, TEAM_ROLES


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


Text = Annotated[str, AfterValidator(_no_nul)]
NhsNumber = Annotated[str, Field(pattern=r"^[0-9]{10}$", examples=["9434765919"])]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Role = Literal[ROLES]  # type: ignore[valid-type]
TeamRole = Literal[TEAM_ROLES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


def _iso_text(v: Any) -> Any:
    """Date-times and dates come as ISO 8601 text: a bare number (``"held_at": 0``, which
    pydantic would read as seconds since 1970) is refused."""
    if not isinstance(v, str | dt.date):
        raise ValueError("must be ISO 8601 text, e.g. 2026-11-22T10:00:00Z or 2026-11-22")
    return v


AwareDatetime = Annotated[
    dt.datetime, BeforeValidator(_iso_text), Field(description="ISO 8601 with a time zone")
]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_text), Field(description="ISO 8601 date")]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    detail: str


class HealthOut(BaseModel):
    status: Literal["ok"]
    store: Literal["reachable"]


# ---------------------------------------------------------------- auth and users


class LoginIn(In):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=1024)


class UserOut(Out):
    id: int
    username: str
    display_name: str
    role: str
    org_id: str | None
    locality_id: str | None
    active: bool
    locked_until: dt.datetime | None


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str


class TokenIn(In):
    name: Text = Field(min_length=1, max_length=auth.TOKEN_NAME_MAX)
    #: SMART-style scopes for a FHIR client (e.g. user/Patient.read); docs/fhir.md
    fhir_scopes: list[Annotated[str, Field(max_length=80)]] | None = Field(
        default=None, max_length=50
    )


class TokenOut(BaseModel):
    token: str
    name: str


class RevokeTokensIn(In):
    """Which of the user's tokens to revoke: those issued with ``name``, or all of them."""

    name: Text | None = Field(default=None, min_length=1, max_length=100)


class RevokedOut(BaseModel):
    tokens_revoked: int
    sessions_ended: int = 0


class UserIn(In):
    # The limits are security/auth.py's, which the CLI meets through the same functions.
    username: Text = Field(min_length=1, max_length=auth.USERNAME_MAX)
    display_name: Text = Field(min_length=1, max_length=auth.DISPLAY_NAME_MAX)
    role: Role
    password: Text | None = Field(default=None, min_length=12, max_length=auth.PASSWORD_MAX)
    org_id: Text | None = Field(default=None, max_length=auth.ORG_ID_MAX)
    locality_id: Text | None = Field(default=None, max_length=auth.ORG_ID_MAX)


# ---------------------------------------------------------------- people and register


class PersonOut(Out):
    nhs_number: str
    date_of_birth: dt.date
    sex: str
    practice_id: str | None
    locality_id: str | None
    care_home_resident: bool
    date_of_death: dt.date | None
    risk_as_of: dt.date | None
    risk_probability: float | None
    risk_band: str | None
    ccm_level: int | None
    segment: str | None
    frailty_category: str | None
    risk_explanation: list[str]
    conditions: list[str]


class EnrolIn(In):
    nhs_number: NhsNumber
    reason: Text = Field(min_length=1, max_length=2000)
    lead_professional_id: Id
    start_date: IsoDate | None = None
    source: Text = Field(default="worklist", min_length=1, max_length=64)


class EpisodeOut(Out):
    id: int
    nhs_number: str
    start_date: dt.date
    end_date: dt.date | None
    reason: str
    outcome: str | None
    lead_professional_id: int
    source: str


class CaseloadOut(BaseModel):
    user_id: int
    open_episodes: int
    limit: int
    level: Literal["ok", "approaching", "at_limit", "over_limit"]
    warning: str | None
    episodes: list[EpisodeOut] = []


class EnrolOut(BaseModel):
    episode: EpisodeOut
    caseload: CaseloadOut


class CloseEpisodeIn(In):
    end_date: IsoDate
    outcome: Text = Field(min_length=1, max_length=2000)


class MemberIn(In):
    user_id: Id
    team_role: TeamRole
    organisation: Text | None = Field(default=None, max_length=200)


class MemberOut(Out):
    id: int
    nhs_number: str
    user_id: int
    team_role: str
    organisation: str
    added_at: dt.datetime


class TelehealthIn(In):
    conditions: list[Annotated[Text, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=50
    )
    thresholds: dict[Annotated[Text, Field(max_length=32)], tuple[float | None, float | None]] = (
        Field(default={}, max_length=20)
    )


class ObjectionIn(In):
    kind: Literal["sharing", "secondary_use"]
    note: Text | None = Field(default=None, max_length=2000)


class ObjectionOut(Out):
    id: int
    nhs_number: str
    kind: str
    recorded_at: dt.datetime
    withdrawn_at: dt.datetime | None


class BreakGlassIn(In):
    reason: Text = Field(min_length=10, max_length=2000)


class BreakGlassOut(Out):
    id: int
    user_id: int
    nhs_number: str
    reason: str
    granted_at: dt.datetime
    expires_at: dt.datetime
    reviewed_by: int | None
    reviewed_at: dt.datetime | None


class ReviewIn(In):
    note: Text = Field(min_length=1, max_length=2000)


# ---------------------------------------------------------------- assessments and plans


class TemplateOut(BaseModel):
    id: str
    version: int
    title: str
    kind: str
    questions: list[dict[str, Any]]
    triggers: list[dict[str, Any]]


class AssessmentIn(In):
    template_id: Text = Field(min_length=1, max_length=64)
    template_version: Id | None = None
    answers: dict[Annotated[Text, Field(max_length=64)], Any] = Field(max_length=200)


class AssessmentOut(Out):
    id: int
    nhs_number: str
    template_id: str
    template_version: int
    answers: dict[str, Any]
    triggered: list[dict[str, Any]]
    recorded_by: int
    recorded_at: dt.datetime


class CarePlanIn(In):
    base_version: Id | None = Field(
        description="The version this change is based on; null to create the plan."
    )
    content: CarePlanContent


class CarePlanOut(Out):
    version: int
    content: CarePlanContent
    changes: list[str]
    changed_by: int
    changed_at: dt.datetime


# ---------------------------------------------------------------- services and referrals


class ServiceIn(In):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, min_length=1, max_length=5000)
    eligibility: Text | None = Field(default=None, min_length=1, max_length=5000)
    referral_route: Text | None = Field(default=None, min_length=1, max_length=2000)
    localities: list[Annotated[Text, Field(max_length=32)]] | None = Field(
        default=None, max_length=200
    )
    response_hours: dict[Literal["urgent", "routine"], float] | None = None
    contact_user_id: Id | None = None
    active: bool | None = None


class ServiceOut(Out):
    id: str
    name: str
    description: str
    eligibility: str
    localities: list[str]
    referral_route: str
    response_standards: dict[str, float]
    contact_user_id: int | None
    active: bool


class ReferralIn(In):
    nhs_number: NhsNumber
    service_id: Text = Field(min_length=1, max_length=64)
    urgency: Literal["urgent", "routine"]
    reason: Text = Field(min_length=1, max_length=5000)


class ReferralOut(Out):
    id: int
    nhs_number: str
    service_id: str
    urgency: str
    reason: str
    status: str
    referrer_id: int | None
    received_at: dt.datetime
    respond_by: dt.datetime
    responded_at: dt.datetime | None
    scheduled_for: dt.datetime | None
    breached_at: dt.datetime | None
    history: list[dict[str, Any]]
    source: str
    reference: str
    version: int
    decline_reason: str | None
    unmet_need_note: str | None = None
    booked_with: str | None
    redirected_to_id: int | None


class TransitionIn(In):
    status: Literal[
        "received",
        "triaged",
        "accepted",
        "declined",
        "redirected",
        "scheduled",
        "attended",
        "completed",
    ]
    note: Text | None = Field(default=None, max_length=2000)
    scheduled_for: AwareDatetime | None = None
    version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The version the change is made against: a stale one is refused (409)",
    )
    decline_reason: (
        Literal[
            "no_capacity",
            "out_of_area",
            "not_eligible",
            "needs_met_elsewhere",
            "person_declined",
            "duplicate",
        ]
        | None
    ) = None
    booked_with: Text | None = Field(default=None, max_length=200)
    redirect_to: Text | None = Field(default=None, min_length=1, max_length=64)
    # At a decline: what the person needs that could not be provided.
    unmet_need_note: Text | None = Field(default=None, max_length=1000)


class ServiceMemberOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    added_at: dt.datetime


class UnmetNeedRowOut(BaseModel):
    service_id: str
    locality: str
    need_level: int
    kind: str
    decline_reason: str | None
    count: int | None = Field(
        description="Shown count: null when 1-7 (suppressed), else rounded to 5."
    )


class UnmetNeedServiceOut(BaseModel):
    service_id: str
    name: str
    capacity: int | None
    at_capacity: bool


class UnmetNeedOut(BaseModel):
    """Unmet need for commissioners (careweave.capacity.unmet), disclosure-controlled."""

    since: dt.date
    until: dt.datetime
    threshold: int
    rows: list[UnmetNeedRowOut]
    services: list[UnmetNeedServiceOut]
    localities: dict[str, str]
    reasons: dict[str, list[str]]
    reasons_held_back: dict[str, int]


class BreachCheckIn(In):
    at: AwareDatetime | None = Field(
        default=None, description="Check as at this time (default now)"
    )


# ---------------------------------------------------------------- events, tasks, notifications


class EventIn(In):
    nhs_number: NhsNumber
    type: EventType
    occurred_at: AwareDatetime
    external_id: Text | None = Field(default=None, min_length=1, max_length=128)
    payload: dict[Annotated[Text, Field(max_length=64)], Any] = Field(default={}, max_length=50)


class EventOut(BaseModel):
    id: int
    duplicate: bool
    notified_user_ids: list[int]
    task_ids: list[int]
    alerts: list[str]
    # The alarm incident a fall / pendant alarm opened (care/incidents.py).
    incident_id: int | None = None


class TaskOut(Out):
    id: int
    nhs_number: str | None
    title: str
    owner_user_id: int | None
    owner_role: str | None
    owner_service_id: str | None
    due_at: dt.datetime
    status: str
    source: str
    mdt_meeting_id: int | None


class TaskUpdateIn(In):
    status: Literal["open", "in_progress", "done", "cancelled"]


class NotificationOut(Out):
    id: int
    team_role: str | None
    nhs_number: str | None
    kind: str
    subject: str
    event_id: int | None
    referral_id: int | None
    service_id: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class MeetingIn(In):
    title: Text = Field(min_length=1, max_length=200)
    held_at: AwareDatetime
    agenda: list[NhsNumber] = Field(max_length=100)
    attendees: list[Id] = Field(default=[], max_length=100)


class MeetingOut(Out):
    id: int
    title: str
    held_at: dt.datetime
    agenda: list[str]
    attendees: list[int]
    decisions: list[dict[str, Any]]


class ActionIn(In):
    title: Text = Field(min_length=1, max_length=500)
    owner_user_id: Id
    due_date: IsoDate


class DecisionIn(In):
    nhs_number: NhsNumber
    decision: Text = Field(min_length=1, max_length=5000)
    actions: list[ActionIn] = Field(default=[], max_length=50)


# ---------------------------------------------------------------- analytics and audit


class PseudonymisedPersonOut(BaseModel):
    pseudonym: str
    age_band: str
    sex: str
    locality_id: str | None
    ccm_level: int | None
    risk_band: str | None
    segment: str | None
    on_register: bool


class OutboxProblemOut(Out):
    """A message that failed or is being retried: no body, address or person."""

    id: int
    channel: str
    recipient: str
    about: str
    status: str
    attempts: int
    error: str
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime


class OutboxRetryIn(In):
    ids: list[Id] = Field(max_length=500)


class OutboxRetryOut(BaseModel):
    retried: int


class AuditVerifyOut(BaseModel):
    intact: bool
    count: int
    problem: str | None


class AuditHeadOut(BaseModel):
    """The chain's tip, to keep outside the database (``careweave audit verify --anchors``)."""

    seq: int
    hash: str
    at: str


class IncidentOut(Out):
    id: int
    reference: str
    nhs_number: str
    event_id: int
    service_id: str
    status: str
    alarm_at: dt.datetime
    arrive_by: dt.datetime
    responder_service_id: str | None
    responder_user_id: int | None
    dispatched_at: dt.datetime | None
    arrived_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None
    breached: bool
    minutes_to_arrival: int | None
    history: list[dict[str, Any]]
    version: int


class IncidentMoveIn(In):
    status: Literal["open", "dispatched", "arrived", "closed"]
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    responder_service_id: str | None = Field(
        default=None, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$"
    )
    responder_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    outcome: (
        Literal["no_conveyance", "treated_at_home", "referred", "conveyed_to_hospital", "admitted"]
        | None
    ) = None
    note: Text | None = Field(default=None, max_length=2000)


class IncidentCountOut(BaseModel):
    month: str
    outcome: str
    incidents: int
    arrived_within_standard: int
    breached: int
    median_minutes_to_arrival: float | None
