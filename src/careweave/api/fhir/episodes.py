"""EpisodeOfCare: the operational store's case-management register and the warehouse's
social-care episodes (care-home placements, reablement, telecare services) on one type.

Which is which is the id and the ``type``: a register episode has a number as its id and
the ``.../CodeSystem/episode-type`` code ``case-management``; a social-care episode has
the warehouse row's id (``CPL...``, ``REA...``, ``TCS...``) and the code ``care-placement``,
``reablement`` or ``telecare`` (``linked_social``). Every search parameter means the same
on both: ``status`` (active, finished), ``date`` (the start), ``type``; ``care-manager``
matches only register episodes (a social-care episode has no care manager) and
``_lastUpdated`` only social-care ones (when their load batch was loaded: the register
keeps no change time).

A search **about one person** (``patient=``) is a read of their record (403 without a
relationship, audited once) and returns the register's episodes first, then the
warehouse's by start date. A search **without** ``patient`` is the register's, across
the people the caller may see, as before: the warehouse is another database, so a search
across everyone asking only for social-care episodes (``type=reablement``,
``_lastUpdated``) is a 400 saying ``patient`` is required (a cohort's are a Bulk export).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from careweave.api.deps import Context
from careweave.api.fhir import care_store, linked_router
from careweave.api.fhir.capability import register
from careweave.api.fhir.care_resources import EPISODE_TYPE
from careweave.api.fhir.kinds import PATIENT_PARAMS, included
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.search import Search, bundle, parse, reference
from careweave.care.context import Ctx

NAME = "EpisodeOfCare"
KIND = next(k for k in care_store.KINDS if k.name == NAME)
STATUSES = ("active", "finished")


def _tokens(s: Search, name: str) -> set[str] | None:
    value = s.one(name)
    return None if value is None else {v.rpartition("|")[2] for v in value.split(",")}


def read(request: Request, resource_id: str, ctx: Context) -> FhirResponse:
    if re.fullmatch(r"[0-9]{1,10}", resource_id):
        return FhirResponse(KIND.to_fhir(ctx.session, KIND.get(ctx, resource_id)))
    return linked_router.read(request, ctx, NAME, resource_id)


def _parts(s: Search) -> tuple[bool, bool]:
    """Whether the search can match register episodes, and social-care ones."""
    statuses = _tokens(s, "status")
    if statuses is not None and statuses - set(STATUSES):
        raise FhirError(400, "status: an EpisodeOfCare here is active or finished")
    types = _tokens(s, "type")
    store = (types is None or EPISODE_TYPE in types) and "_lastUpdated" not in s.params
    social = (types is None or bool(types - {EPISODE_TYPE})) and "care-manager" not in s.params
    return store, social


def search(request: Request, ctx: Context) -> FhirResponse:
    s = parse(NAME, request)
    store, social = _parts(s)
    subject = [reference(v, "Patient") for n in PATIENT_PARAMS for v in s.params.get(n, [])]
    if not subject:
        if not store:
            raise FhirError(
                400,
                "patient: required for social-care episodes (a search across people is the "
                "case-management register's; for a cohort use Group/[id]/$export)",
            )
        return FhirResponse(KIND.search(request, ctx))
    return FhirResponse(_about_one(request, ctx, s, store, social))


def _about_one(request: Request, ctx: Ctx, s: Search, store: bool, social: bool) -> dict[str, Any]:
    """The person's register episodes, then their social-care ones, one page of them."""
    q, subject = KIND.query(ctx, s)  # the relationship check (403) and its audit
    if q is None:
        return bundle(request, NAME, [], s, False)
    wanted = s.offset + s.count + 1
    register_rows: list[Any] = []
    if store:
        register_rows = list(
            ctx.session.execute(q.order_by(KIND.id_column).limit(wanted)).scalars()
        )
    page: list[Any] = register_rows[s.offset : s.offset + s.count]
    more = len(register_rows) == wanted
    if social and not more:
        # Every register row is in hand: the rest of the page is the warehouse's, from
        # where the register's rows end.
        social_rows, more = linked_router.find(
            request,
            NAME,
            s,
            subject[0],
            s.count - len(page),
            max(0, s.offset - len(register_rows)),
        )
        page += social_rows
    resources = [r if isinstance(r, dict) else KIND.to_fhir(ctx.session, r) for r in page]
    people = [subject[0]] if resources else []
    return bundle(request, NAME, resources, s, more, included(ctx, s, people))


def add_routes(router: APIRouter) -> None:
    """``GET /EpisodeOfCare/{id}`` and ``GET /EpisodeOfCare``, declared in the capability
    (the warehouse's search parameters are merged in by ``linked_router``)."""
    router.add_api_route(f"/{NAME}/{{resource_id}}", read, methods=["GET"], summary=f"{NAME} read")
    router.add_api_route(f"/{NAME}", search, methods=["GET"], summary=f"{NAME} search")
    register(NAME, KIND.served())
