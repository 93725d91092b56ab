"""The operational store's tables, as typed SQLAlchemy 2 models.

One module so Alembic sees every table. Times are timezone-aware UTC
(``UtcDateTime``) so SQLite and PostgreSQL give back the same values; free
structure (answers, care-plan content, rule payloads) is JSON.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no time zones: naive values read back are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements built once at import (the hot paths: reading
    or writing rows without the ORM's per-object bookkeeping)."""
    t = model.__table__
    assert isinstance(t, Table)
    return t


# ---------------------------------------------------------------- people index


class Organisation(Base):
    """Organisations synced from the warehouse (practice -> cluster -> locality)."""

    __tablename__ = "organisations"
    org_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(32))


NAME_KEY = String(100).with_variant(String(100, collation="C"), "postgresql")


def name_key(name: str | None) -> str | None:
    """A name as search compares it: lower case, accents dropped, letters and digits only
    ("O'Brien-Smith" -> "obriensmith", "Zoë" -> "zoe"), so "obrien" finds O'Brien and "zoe"
    finds Zoë. Stored beside the name, indexed."""
    if not name:
        return None
    plain = unicodedata.normalize("NFKD", name.casefold())
    key = "".join(ch for ch in plain if ch.isalnum() and not unicodedata.combining(ch))
    return key or None


class Person(Base):
    """The people index: demographics, identity (for care staff only), practice and the
    latest risk score.

    Identity columns (``tables.IDENTIFYING_COLUMNS``: names, address, telephone) are for
    the banner and search on care pages; no analytics output reads them
    (tests/web/test_web_identity.py proves the analyst API and pages carry none).
    """

    __tablename__ = "people"
    # Covering indexes for the worklist's count (scope, level, alive, and the key for
    # objections and ordering): it stays one index scan at 1,000,000 people (docs/web.md).
    __table_args__ = (
        Index(
            "ix_web_people_locality_cover",
            "locality_id",
            "ccm_level",
            "date_of_death",
            "nhs_number",
            "risk_probability",
        ),
        Index(
            "ix_web_people_practice_cover",
            "practice_id",
            "ccm_level",
            "date_of_death",
            "nhs_number",
            "risk_probability",
        ),
        # Search by name: a prefix range on the family-name key, then given name and date of
        # birth, in the index's order (docs/web.md: p95 < 100 ms at 1,000,000 people).
        Index("ix_people_name_search", "family_key", "given_key", "date_of_birth"),
        Index("ix_people_date_of_birth", "date_of_birth"),
    )
    nhs_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(String(35))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    # Byte order on PostgreSQL ("C"), as on SQLite, so that search's prefix range
    # [key, key + U+10FFFF) holds every name starting with key (revision 0008).
    given_key: Mapped[str | None] = mapped_column(NAME_KEY)
    family_key: Mapped[str | None] = mapped_column(NAME_KEY)
    address_line_1: Mapped[str | None] = mapped_column(String(200))
    address_line_2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    telephone: Mapped[str | None] = mapped_column(String(32))
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    interpreter_required: Mapped[bool | None] = mapped_column(Boolean)
    sex: Mapped[str] = mapped_column(String(16))
    ethnic_group: Mapped[str] = mapped_column(String(16))
    small_area: Mapped[str | None] = mapped_column(String(16))
    deprivation_decile: Mapped[int | None] = mapped_column(Integer)
    practice_id: Mapped[str | None] = mapped_column(String(32), index=True)
    locality_id: Mapped[str | None] = mapped_column(String(32), index=True)
    local_authority_id: Mapped[str | None] = mapped_column(String(32))
    care_home_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    date_of_death: Mapped[dt.date | None] = mapped_column(Date)
    risk_as_of: Mapped[dt.date | None] = mapped_column(Date)
    risk_probability: Mapped[float | None] = mapped_column(Float)
    risk_percentile: Mapped[float | None] = mapped_column(Float)
    risk_band: Mapped[str | None] = mapped_column(String(32))
    ccm_level: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(64))
    frailty_category: Mapped[str | None] = mapped_column(String(16))
    readmitter: Mapped[bool | None] = mapped_column(Boolean)
    risk_explanation: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(64))
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    synced_at: Mapped[dt.datetime]

    def set_names(self, given: str | None, family: str | None) -> None:
        """Set the names and their search keys together (the keys are never set alone)."""
        self.given_name, self.family_name = given, family
        self.given_key, self.family_key = name_key(given), name_key(family)

    @property
    def display_name(self) -> str | None:
        """The name as the NHS.UK banner shows it: FAMILY, Given (Title); None when unknown."""
        if not self.family_name and not self.given_name:
            return None
        name = (self.family_name or "").upper()
        if self.given_name:
            name = f"{name}, {self.given_name}" if name else self.given_name
        return f"{name} ({self.title})" if self.title else name


# ---------------------------------------------------------------- security


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str | None] = mapped_column(String(32))
    locality_id: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]


class LoginSession(Base):
    """A browser session: the cookie carries the token, the store only its hash."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A bearer token for an API client; only its hash is stored."""

    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    # Scopes (None: no limit beyond the account's role): the event types it may post and
    # the organisations (a person's practice or locality) it may post them for.
    scope_event_types: Mapped[list[Any] | None] = mapped_column(default=None)
    scope_orgs: Mapped[list[Any] | None] = mapped_column(default=None)
    # SMART-style scopes on /fhir (security/scopes.py; None: the account's whole permission).
    scope_fhir: Mapped[list[Any] | None] = mapped_column(default=None)


class Objection(Base):
    """A person's recorded objection to data sharing or to secondary use."""

    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class BreakGlass(Base):
    """Emergency access without a legitimate relationship: reason required, reviewed later."""

    __tablename__ = "break_glass"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log."""

    __tablename__ = "audit_log"
    # The newest entries of one action (the Refused access page): one index range.
    __table_args__ = (Index("ix_audit_log_action_seq", "action", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip (one row): locked while appending so the chain never forks."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class PersonLink(Base):
    """A relationship between two people of the index: ``nhs_number`` is
    ``relationship`` to ``related_nhs_number`` (carer_of: this person cares for them).
    From the warehouse's ``person_relationships`` (``careweave sync``) or entered by staff.
    Knowing of it gives no access to the other person's record."""

    __tablename__ = "person_links"
    __table_args__ = (
        UniqueConstraint("nhs_number", "related_nhs_number", "relationship", name="uq_person_link"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    related_nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    relationship: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime]


# ---------------------------------------------------------------- register


class Episode(Base):
    """A spell on the case-management register."""

    __tablename__ = "episodes"
    # At most one open episode per person, even under concurrent enrolments.
    __table_args__ = (
        Index(
            "uq_episodes_one_open",
            "nhs_number",
            unique=True,
            sqlite_where=text("end_date IS NULL"),
            postgresql_where=text("end_date IS NULL"),
        ),
        # The worklist's "on the register" flag: open episodes by person.
        Index("ix_web_episodes_open", "nhs_number", "end_date"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    lead_professional_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(64), default="worklist")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class CareTeamMember(Base):
    __tablename__ = "care_team_members"
    __table_args__ = (
        UniqueConstraint("nhs_number", "user_id", "team_role", name="uq_team_member_role"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_role: Mapped[str] = mapped_column(String(32))
    organisation: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]]
    triggered: Mapped[list[Any]] = mapped_column(default=list)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]


class CarePlan(Base):
    __tablename__ = "care_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), unique=True)
    current_version: Mapped[int] = mapped_column(Integer)


class CarePlanVersion(Base):
    """Every version of a care plan is kept whole, with who changed what."""

    __tablename__ = "care_plan_versions"
    __table_args__ = (UniqueConstraint("care_plan_id", "version", name="uq_plan_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]]
    changes: Mapped[list[Any]] = mapped_column(default=list)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime]


# ---------------------------------------------------------------- single point of access


class Service(Base):
    __tablename__ = "services"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[str] = mapped_column(Text)
    localities: Mapped[list[Any]] = mapped_column(default=list)
    referral_route: Mapped[str] = mapped_column(Text)
    response_standards: Mapped[dict[str, Any]]
    contact_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime]


class ServiceMember(Base):
    """A member of a service's staff: sees its duty inbox and works its referrals and tasks."""

    __tablename__ = "service_members"
    __table_args__ = (UniqueConstraint("service_id", "user_id", name="uq_service_member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class Referral(Base):
    __tablename__ = "referrals"
    # The single point of access's breach queue.
    __table_args__ = (Index("ix_web_referrals_breach", "breached_at", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    urgency: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime]
    respond_by: Mapped[dt.datetime]
    responded_at: Mapped[dt.datetime | None]
    scheduled_for: Mapped[dt.datetime | None]
    breached_at: Mapped[dt.datetime | None]
    history: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    # Bumped by every change: a change made against an older version is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    # At a decline: what the person needs that could not be provided, in the staff's
    # words (free text: commissioners read it de-identified, careweave.capacity.unmet).
    unmet_need_note: Mapped[str | None] = mapped_column(Text)
    booked_with: Mapped[str | None] = mapped_column(String(200))
    redirected_to_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))

    @property
    def reference(self) -> str:
        """The reference number staff quote on the phone: R followed by six digits."""
        return f"R{self.id:06d}"


# ---------------------------------------------------------------- MDT, tasks, events


class MdtMeeting(Base):
    __tablename__ = "mdt_meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    held_at: Mapped[dt.datetime]
    agenda: Mapped[list[Any]] = mapped_column(default=list)
    attendees: Mapped[list[Any]] = mapped_column(default=list)
    decisions: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str | None] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    title: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_role: Mapped[str | None] = mapped_column(String(32))
    # A service's duty queue owns a task no named person holds (care/notify.py).
    owner_service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id"), index=True)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    mdt_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("mdt_meetings.id"))
    created_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime | None]


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_person_type_time", "nhs_number", "type", "occurred_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """A fall / pendant alarm in the telecare control centre's queue (care/incidents.py)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_queue", "service_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    # The queue it sits in (the control centre's service id).
    service_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    alarm_at: Mapped[dt.datetime]
    arrive_by: Mapped[dt.datetime]
    responder_service_id: Mapped[str | None] = mapped_column(String(64))
    responder_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[dt.datetime | None]
    arrived_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Set when arrival came (or has not come) later than ``arrive_by``.
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    history: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    @property
    def reference(self) -> str:
        """The incident number the control centre quotes: A followed by six digits."""
        return f"A{self.id:06d}"

    @property
    def minutes_to_arrival(self) -> int | None:
        """Minutes from the alarm to the responder's arrival (None until they arrive)."""
        if self.arrived_at is None:
            return None
        return int((self.arrived_at - self.alarm_at).total_seconds() // 60)


class DischargePlan(Base):
    """Discharge planning from day one: opened by an admission, closed by the discharge
    (care/discharge.py). Also the store's record of delayed discharges: the days from
    ``discharge_ready_date`` to the discharge (``delayed_days``, set at discharge) feed the
    delayed-discharge KPI, for ``careweave extract`` to read (it does not yet)."""

    __tablename__ = "discharge_plans"
    __table_args__ = (
        # One plan open per person (a second admission while in hospital joins it).
        Index(
            "uq_discharge_plans_one_open",
            "nhs_number",
            unique=True,
            sqlite_where=text("discharged_at IS NULL"),
            postgresql_where=text("discharged_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    admission_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), unique=True)
    admitted_at: Mapped[dt.datetime]
    hospital: Mapped[str | None] = mapped_column(String(200))
    ward: Mapped[str | None] = mapped_column(String(200))
    expected_discharge_date: Mapped[dt.date | None] = mapped_column(Date)
    discharge_ready_date: Mapped[dt.date | None] = mapped_column(Date)
    # item -> {"status": "to_do" | "done" | "not_needed", "note", "by_name", "at"}
    checklist: Mapped[dict[str, Any]]
    # restart | change | new | none: what happens to the package of care at discharge.
    package_decision: Mapped[str | None] = mapped_column(String(16))
    package_note: Mapped[str | None] = mapped_column(Text)
    discharged_at: Mapped[dt.datetime | None]
    discharge_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    # Days in hospital after the discharge-ready date, fixed at discharge.
    delayed_days: Mapped[int | None] = mapped_column(Integer)
    history: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class TelehealthThreshold(Base):
    """A per-person override of a telehealth measure's normal range."""

    __tablename__ = "telehealth_thresholds"
    __table_args__ = (UniqueConstraint("nhs_number", "measure", name="uq_threshold"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"))
    measure: Mapped[str] = mapped_column(String(32))
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[dt.datetime]


class Notification(Base):
    """A message to one user (or a service's contact) about a person or referral."""

    __tablename__ = "notifications"
    # A person's notifications of one kind, newest first (patient page, worklist flags).
    __table_args__ = (
        Index("ix_web_notifications_person_kind", "nhs_number", "kind", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_role: Mapped[str | None] = mapped_column(String(32))
    nhs_number: Mapped[str | None] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    # The service whose duty queue it reached the recipient through, if any.
    service_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]


# ---------------------------------------------------------------- maturity self-assessment


class MaturityAssessment(Base):
    """A partnership's or locality's self-assessment on one maturity matrix at one date.

    ``org_id`` names the partnership or locality; it need not be in ``organisations``
    (a partnership of a health board and local authorities is not a practice tree
    node). Ratings live in the versions, never overwritten: ``current_version`` is the
    newest. ``status`` is ``draft`` until agreed by its signatories, then ``agreed``.
    """

    __tablename__ = "maturity_assessments"
    __table_args__ = (
        UniqueConstraint("matrix_id", "org_id", "assessed_on", name="uq_maturity_assessment"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class MaturityAssessmentVersion(Base):
    """One saved state of an assessment: every element's rating, whole, as JSON
    (``ratings``: element id -> stage, narrative, evidence, assessed_by), the status and
    signatories at that version, and what changed from the one before."""

    __tablename__ = "maturity_assessment_versions"
    __table_args__ = (
        UniqueConstraint("assessment_id", "version", name="uq_maturity_assessment_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("maturity_assessments.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    ratings: Mapped[dict[str, Any]]
    signatories: Mapped[list[Any]] = mapped_column(default=list)
    changes: Mapped[list[Any]] = mapped_column(default=list)
    saved_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[dt.datetime]


class MaturityDocument(Base):
    """A file attached to an assessment element's evidence, kept in the store (never
    changed or deleted: versions that cite it keep working). Limits and accepted types are
    in ``careweave.care.maturity`` (``DOCUMENT_TYPES``, ``MAX_DOCUMENT_BYTES``)."""

    __tablename__ = "maturity_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("maturity_assessments.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime]


# ---------------------------------------------------------------- contacts and external channels


class Contact(Base):
    """Someone in a person's life who is not a user (the daughter 150 miles away), with the
    channels they consented to and what they consented to be told (care/contacts.py)."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(ForeignKey("people.nhs_number"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    by_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # What they agreed to be told about (care/contacts.TOPICS).
    topics: Mapped[list[Any]] = mapped_column(default=list)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Where an imported contact came from ("RelatedPerson/<id>"): a re-import updates it.
    source_ref: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_contacts_source_ref", "nhs_number", "source_ref"),)


class StaffChannel(Base):
    """A user's opt-in to have some of their notifications sent by email and/or SMS."""

    __tablename__ = "staff_channels"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    by_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # The notification kinds sent out (care/outbox.STAFF_KINDS).
    kinds: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """An email or SMS waiting to go, being retried, or sent (care/outbox.py)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Sent with the message (SMS gateway Idempotency-Key, email Message-ID), so a retry
    # of a message the far end already took is not delivered twice.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


# ---------------------------------------------------------------- evaluation results


class EvaluationResult(Base):
    """One stored run of ``careweave evaluate --store`` (docs/evaluation.md): aggregates
    only, never a person-level row. ``inputs`` are what it was asked (warehouse, the
    intervention, outcomes, follow-up, the prognostic score used); ``balance`` the
    standardised mean differences by covariate; ``outcomes`` name -> effect, ci_low,
    ci_high, naive_before_after, degree and verdict; ``verdict`` the primary outcome's
    (emergency admissions when evaluated, else the first). ``definition_version`` is the
    evaluation method's version (``careweave.evaluation.run.DEFINITION_VERSION``), so a
    result is read by the method that made it. Pages show counts through disclosure
    control."""

    __tablename__ = "evaluation_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intervention: Mapped[str] = mapped_column(String(64), index=True)
    run_at: Mapped[dt.datetime]
    definition_version: Mapped[str] = mapped_column(String(32))
    inputs: Mapped[dict[str, Any]]
    treated: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    controls: Mapped[int] = mapped_column(Integer)
    balance_max_smd: Mapped[float] = mapped_column(Float)
    balance: Mapped[dict[str, Any]]
    outcomes: Mapped[dict[str, Any]]
    primary_outcome: Mapped[str] = mapped_column(String(32))
    degree: Mapped[str] = mapped_column(String(8))
    verdict: Mapped[str] = mapped_column(Text)


# ---------------------------------------------------------------- FHIR Bulk Data exports


class BulkExport(Base):
    """A FHIR Bulk Data export job (api/fhir/bulk.py): kept here, not in a server's memory,
    so any worker answers its status, files and DELETE, and a restart keeps it. The files
    are on disk under the configured bulk directory, ``<bulk dir>/<id>/``; the cohort (who
    is exported) lives only in the memory of the process writing them.

    ``state``: running | done | failed. A running job's process writes ``heartbeat_at``
    every few seconds (with its progress, ``done_types`` and ``written``); one whose
    heartbeat stopped (its server was stopped mid-export) is reported failed. DELETE
    removes the row; ``expires_at`` (set when done) is when the files go."""

    __tablename__ = "fhir_bulk_exports"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    request: Mapped[str] = mapped_column(Text)
    types: Mapped[list[Any]]
    since: Mapped[dt.datetime | None]
    pseudonymised: Mapped[bool] = mapped_column(Boolean)
    transaction_time: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16))
    done_types: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    # [{"type": ..., "count": ...}] of the files written, in the order written.
    output: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)
