"""SMART-style scopes of a FHIR client's bearer token (docs/fhir.md, Scopes).

A scope is ``<context>/<resource type or *>.<actions>``: the context is ``user`` (a
member of staff's client, acting as them) or ``system`` (a backend feed with no person at
the keyboard: only accounts of the ``integration`` role hold them); the actions are
``read`` (read, vread, history, search), ``write`` (create, update, the entries of a
transaction) or ``*``; SMART v2 letters are taken too (``r``/``s`` read, ``c``/``u``/``d``
write, e.g. ``user/Observation.rs``). ``patient/`` scopes are refused: Careweave has no
patient-facing accounts.

A scope never widens what the account may do: the role's permission, the
legitimate-relationship rule, objections and break-glass still apply; scopes only narrow
it, per resource type and interaction. A token without FHIR scopes keeps its account's
whole permission on ``/fhir`` (as before scopes existed); a token *with* them is a FHIR
client's token and is refused on the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from careweave.security.errors import Invalid
from careweave.security.roles import INTEGRATION

SCOPE = re.compile(
    r"^(user|system|patient)/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|[cruds]{1,5})$"
)
MAX_SCOPES = 50
INTERACTIONS = ("read", "write")
_LETTERS = {"r": "read", "s": "read", "c": "write", "u": "write", "d": "write"}


def _actions(text: str) -> frozenset[str]:
    if text == "*":
        return frozenset(INTERACTIONS)
    if text in INTERACTIONS:
        return frozenset({text})
    return frozenset(_LETTERS[c] for c in text)


def check(scopes: Iterable[str], role: str) -> list[str]:
    """The scopes, checked for an account of ``role``; a bad one is a 422 in words."""
    out = sorted(set(scopes))
    if not out or len(out) > MAX_SCOPES:
        raise Invalid(f"fhir_scopes: give 1-{MAX_SCOPES} scopes like user/Patient.read")
    for scope in out:
        m = SCOPE.match(scope)
        if m is None:
            raise Invalid(
                f"fhir_scopes: {scope!r} is not a scope like user/Patient.read or system/*.read"
            )
        context = m.group(1)
        if context == "patient":
            raise Invalid(f"fhir_scopes: {scope!r}: patient/ scopes are not served")
        if context == "system" and role != INTEGRATION:
            raise Invalid(
                f"fhir_scopes: {scope!r}: system/ scopes are for system accounts (role "
                f"{INTEGRATION}); use user/ for a member of staff's client"
            )
        if context == "user" and role == INTEGRATION:
            raise Invalid(f"fhir_scopes: {scope!r}: a system account takes system/ scopes")
    return out


def allows(scopes: Iterable[str], resource: str, interaction: str) -> bool:
    """Whether any of ``scopes`` covers ``interaction`` (read or write) on ``resource``."""
    for scope in scopes:
        m = SCOPE.match(scope)
        if m and m.group(2) in ("*", resource) and interaction in _actions(m.group(3)):
            return True
    return False
