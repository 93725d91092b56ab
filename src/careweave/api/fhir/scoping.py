"""The FHIR scopes of the caller's bearer token, enforced per resource type and interaction.

Every ``/fhir`` route depends on :func:`enforce`: a ``GET`` of ``/fhir/<Type>...`` is a
*read* of the type, any other method a *write*; ``POST /fhir`` (a transaction) is checked
entry by entry (:func:`require`), as is a search's ``_include`` of Patients. A token
without FHIR scopes, and a browser session, are not narrowed (security/scopes.py). A
refusal is a 403 OperationOutcome, audited as refused. ``/fhir/metadata`` is open.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from careweave.api.deps import DB, _bearer, bearer_principal, now
from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Forbidden

# ``_bulk``: a Bulk Data export's status and files, which only the account that kicked it
# off may fetch; the kick-off checked each exported type against the scopes.
OPEN = ("metadata", "_bulk")


def _refuse(
    session: DB, actor: str, resource: str, interaction: str, why: str, at: dt.datetime
) -> None:
    audit.refused(
        session,
        actor=actor,
        action=interaction,
        resource=f"fhir {resource}",
        reason=why,
        now=at,
    )
    raise Forbidden(why)


def enforce(
    request: Request,
    session: DB,
    at: Annotated[dt.datetime, Depends(now)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    parts = request.url.path.removeprefix("/fhir").strip("/").split("/")
    resource = parts[0]
    if bearer is None or resource in OPEN or not resource:
        return  # a browser session, no credentials (401 later), metadata, a transaction
    found = bearer_principal(session, bearer.credentials)
    if found is None:
        return  # refused as unauthenticated by the route itself
    user, scope = found
    if scope is None or scope.fhir is None:
        return
    interaction = "read" if request.method in ("GET", "HEAD") else "write"
    why = scope.refuse_fhir(resource, interaction)
    if why is not None:
        _refuse(session, user.username, resource, interaction, why, at)


def require(ctx: Ctx, resource: str, interaction: str) -> None:
    """Refuse (403, audited) ``interaction`` on ``resource`` outside the token's scopes."""
    why = ctx.scope.refuse_fhir(resource, interaction) if ctx.scope is not None else None
    if why is not None:
        _refuse(ctx.session, ctx.user.username, resource, interaction, why, ctx.now)
