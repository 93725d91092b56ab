"""Read and search for a resource type over one store table, declared once as a :class:`Kind`.

A kind names its table, its permission (``roles.PERMISSIONS`` resource), its mapping to
FHIR and its search parameters; :func:`add_routes` serves ``GET /<Type>/{id}`` and
``GET /<Type>`` for it and registers it in the CapabilityStatement. Access is the JSON
API's: the role's permission first; a row about a person needs a legitimate relationship
with them (``ctx.person``: objections, break-glass, audited with its basis; 403 when
there is none). A search keeps only the people the caller may see (``visible_clause``)
and is audited as one entry naming the people shown; a search *about one person*
(``patient=``) is a read of that person's record: 403 without a relationship.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from careweave.api.deps import Context
from careweave.api.fhir import resources as fr
from careweave.api.fhir import scoping
from careweave.api.fhir.capability import Served, register
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.search import Search, bundle, date_range, parse, reference, token
from careweave.care.context import Ctx
from careweave.security import access, audit
from careweave.security.errors import Forbidden
from careweave.security.roles import allowed
from careweave.store.models import Person

MAX_ID = 2**31 - 1
PATIENT_PARAMS = ("patient", "subject")
Apply = Callable[[Select[Any], list[str]], Select[Any]]


@dataclass(frozen=True)
class Param:
    type: str  # the FHIR search-parameter type
    apply: Apply


def token_param(column: Any, system: str | None = None, *, integer: bool = False) -> Param:
    """``[system|]code[,code...]``: rows whose ``column`` is one of the codes."""

    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            codes = [token(v, system) if system else v.rpartition("|")[2] for v in value.split(",")]
            wanted: list[Any] = [c for c in codes if c]
            if integer:
                wanted = [int(c) for c in wanted if re.fullmatch(r"[0-9]{1,9}", c)]
            q = q.where(column.in_(wanted))
        return q

    return Param("token", apply)


def status_param(column: Any, codes: dict[str, tuple[Any, ...]]) -> Param:
    """A FHIR status code (comma-separated: any of) as the store's values for it."""

    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            asked = set(value.split(","))
            bad = asked - codes.keys()
            if bad:
                raise FhirError(
                    400,
                    f"status: {', '.join(sorted(bad))} is not a status here "
                    f"(one of {', '.join(codes)})",
                )
            q = q.where(column.in_([s for a in sorted(asked) for s in codes[a]]))
        return q

    return Param("token", apply)


def date_param(name: str, column: Any, *, instant: bool = False) -> Param:
    """``[eq|ge|gt|le|lt]YYYY[-MM[-DD]]`` on a date (or, ``instant``, a UTC date-time) column;
    several values must all hold (``date=ge2026-01-01&date=lt2026-02-01``)."""

    def bounds(first: dt.date, last: dt.date) -> tuple[Any, Any]:
        """The first instant of ``first`` and the first instant after ``last``."""
        if not instant:
            return first, last + dt.timedelta(days=1)
        start = dt.datetime.combine(first, dt.time(), dt.UTC)
        return start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)

    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            prefix, first, last = date_range(name, value)
            lo, hi = bounds(first, last)
            q = q.where(
                {
                    "eq": and_(column >= lo, column < hi),
                    "ge": column >= lo,
                    "gt": column >= hi,
                    "le": column < hi,
                    "lt": column < lo,
                }[prefix]
            )
        return q

    return Param("date", apply)


def string_param(*columns: Any) -> Param:
    """A case-insensitive prefix of any of ``columns``."""

    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            text = value.replace("%", "").replace("_", "")
            q = q.where(or_(*(c.ilike(f"{text}%") for c in columns)))
        return q

    return Param("string", apply)


def boolean_param(column: Any) -> Param:
    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            if value not in ("true", "false"):
                raise FhirError(400, f"{value!r}: give true or false")
            q = q.where(column.is_(value == "true"))
        return q

    return Param("token", apply)


def reference_param(column: Any, resource: str, *, integer: bool = False) -> Param:
    def apply(q: Select[Any], values: list[str]) -> Select[Any]:
        for value in values:
            ids: list[Any] = [reference(v, resource) for v in value.split(",")]
            if integer:
                ids = [int(i) for i in ids if re.fullmatch(r"[0-9]{1,9}", i)]
            q = q.where(column.in_(ids))
        return q

    return Param("reference", apply)


@dataclass(frozen=True)
class Kind:
    name: str
    model: Any
    id_column: Any
    #: the roles.PERMISSIONS resource whose "read" this needs
    permission: str
    to_fhir: Callable[[Session, Any], dict[str, Any]]
    params: dict[str, Param] = field(default_factory=dict)
    #: the NHS number column, for a resource about a person
    person: Any = None
    #: what rows are this resource type at all (e.g. Flag: telehealth alerts); else 404
    where: Callable[[], ColumnElement[bool]] | None = None
    #: rows of this type that are the caller's own whatever the person (e.g. Communication:
    #: their own notifications) and, for rows about nobody, the only ones they may see
    mine: Callable[[Ctx], ColumnElement[bool]] | None = None
    #: when set, only ``mine`` rows are served (someone else's are 403)
    only_mine: bool = False
    int_id: bool = True
    includes: tuple[str, ...] = ()
    profile: str | None = None
    #: the interactions beyond read and search (served by routes of their own)
    more: tuple[str, ...] = ()
    #: a read of its own (e.g. ServiceRequest: its service's staff keep sight of it)
    read: Callable[[Ctx, str], Any] | None = None

    def served(self) -> Served:
        search = {**self.params, "_id": Param("token", self._ids)}
        if self.person is not None:
            search = {p: Param("reference", self._ids) for p in PATIENT_PARAMS} | search
        return Served(
            ("read", *self.more, "search-type"),
            {name: p.type for name, p in search.items()},
            includes=self.includes,
            profile=self.profile,
        )

    def _ids(self, q: Select[Any], values: list[str]) -> Select[Any]:
        return token_param(self.id_column, integer=self.int_id).apply(q, values)

    def row_id(self, value: str) -> Any:
        if self.int_id:
            if not re.fullmatch(r"[0-9]{1,10}", value) or not 1 <= int(value) <= MAX_ID:
                raise FhirError(404, f"{self.name}/{value}: no such resource")
            return int(value)
        if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", value):
            raise FhirError(404, f"{self.name}/{value}: no such resource")
        return value

    def get(self, ctx: Ctx, value: str) -> Any:
        """The row, after the caller's access to it is checked (and audited)."""
        if self.read is not None:
            return self.read(ctx, value)
        ctx.require(self.permission, "read")
        q = select(self.model).where(self.id_column == self.row_id(value))
        if self.where is not None:
            q = q.where(self.where())
        row = ctx.session.execute(q).scalar_one_or_none()
        if row is None:
            raise FhirError(404, f"{self.name}/{value}: no such resource")
        nhs = self._nhs(row)
        if self.mine is not None and (self.only_mine or nhs is None):
            own = ctx.session.execute(
                select(self.id_column).where(self.id_column == row_key(self, row), self.mine(ctx))
            ).first()
            if own is None:
                reason = f"{self.name}/{value}: not yours (another user's or service's)"
                audit.refused(
                    ctx.session,
                    actor=ctx.user.username,
                    action="read",
                    resource=self.permission,
                    resource_id=value,
                    nhs_number=nhs,
                    reason=reason,
                    now=ctx.now,
                )
                raise Forbidden(reason)
        if nhs is not None:
            ctx.person(nhs, self.permission, "read")
        return row

    def _nhs(self, row: Any) -> str | None:
        if self.person is None:
            return None
        value: str | None = getattr(row, self.person.key)
        return value

    def query(self, ctx: Ctx, s: Search) -> tuple[Select[Any] | None, list[str]]:
        """The rows ``s`` asks for, with the caller's access applied (a search about one
        person checks and audits the relationship: 403 without one), and the people it is
        about (``patient=``); None when nothing can match."""
        ctx.require(self.permission, "read")
        q = select(self.model)
        if self.where is not None:
            q = q.where(self.where())
        if self.only_mine and self.mine is not None:
            q = q.where(self.mine(ctx))
        subject = [reference(v, "Patient") for n in PATIENT_PARAMS for v in s.params.get(n, [])]
        if len(set(subject)) > 1:
            return None, subject
        if subject:
            if ctx.session.get(Person, subject[0]) is None:
                return None, subject
            ctx.person(subject[0], self.permission, "read")
            q = q.where(self.person == subject[0])
        elif self.person is not None:
            seen = self.person.in_(
                select(Person.nhs_number).where(access.visible_clause(ctx.user, ctx.now))
            )
            if self.mine is not None:  # rows about nobody: only the caller's own
                seen = or_(seen, and_(self.person.is_(None), self.mine(ctx)))
            q = q.where(seen)
        for name, values in s.params.items():
            if name in PATIENT_PARAMS:
                continue
            param = self.params.get(name)
            q = param.apply(q, values) if param is not None else self._ids(q, values)
        return q, subject

    def search(self, request: Request, ctx: Ctx) -> dict[str, Any]:
        s = parse(self.name, request)
        q, subject = self.query(ctx, s)
        if q is None:
            return bundle(request, self.name, [], s, False)
        rows = list(
            ctx.session.execute(
                q.order_by(self.id_column).offset(s.offset).limit(s.count + 1)
            ).scalars()
        )
        page = rows[: s.count]
        people = sorted({n for n in (self._nhs(r) for r in page) if n})
        if not subject:
            access.audit_list(
                ctx.session,
                ctx.user,
                self.permission,
                people,
                ctx.now,
                what=f"fhir {self.name} search",
            )
        found = [self.to_fhir(ctx.session, r) for r in page]
        return bundle(request, self.name, found, s, len(rows) > s.count, included(ctx, s, people))


def row_key(kind: Kind, row: Any) -> Any:
    return getattr(row, kind.id_column.key)


def included(ctx: Ctx, s: Search, people: Sequence[str]) -> list[dict[str, Any]]:
    """The Patients of the page, when ``_include=<Type>:patient`` (or ``:subject``) asked."""
    if not s.includes or not people:
        return []
    scoping.require(ctx, "Patient", "read")
    if not allowed(ctx.user.role, "person", "read"):
        ctx.require("person", "read")
    found = ctx.session.execute(
        select(Person).where(Person.nhs_number.in_(people)).order_by(Person.nhs_number)
    ).scalars()
    access.audit_list(
        ctx.session, ctx.user, "person", people, ctx.now, what="fhir _include Patient"
    )
    return [fr.patient(p) for p in found]


def add_routes(router: APIRouter, kind: Kind) -> None:
    """``GET /<Type>/{id}`` and ``GET /<Type>`` for ``kind``, declared in the capability."""

    def read(resource_id: str, ctx: Context) -> FhirResponse:
        row = kind.get(ctx, resource_id)
        body = kind.to_fhir(ctx.session, row)
        version = body.get("meta", {}).get("versionId")
        return FhirResponse(body, headers={"ETag": f'W/"{version}"'} if version else None)

    def search(request: Request, ctx: Context) -> FhirResponse:
        return FhirResponse(kind.search(request, ctx))

    router.add_api_route(
        f"/{kind.name}/{{resource_id}}", read, methods=["GET"], summary=f"{kind.name} read"
    )
    router.add_api_route(f"/{kind.name}", search, methods=["GET"], summary=f"{kind.name} search")
    register(kind.name, kind.served())
