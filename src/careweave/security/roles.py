"""Roles and the role x resource x action permission matrix.

Permission is necessary, not sufficient: for anything about a person the user
also needs a legitimate relationship (careweave.security.access).
"""

from __future__ import annotations

from typing import Final

CLINICIAN: Final = "clinician"
CARE_COORDINATOR: Final = "care_coordinator"
CASE_MANAGER: Final = "case_manager"
SOCIAL_WORKER: Final = "social_worker"
CARE_PROVIDER: Final = "care_provider"
ANALYST: Final = "analyst"
ADMINISTRATOR: Final = "administrator"
# A system account for event feeds (hospital PAS, telecare hub): may post events only.
INTEGRATION: Final = "integration"

ROLES: Final = (
    CLINICIAN,
    CARE_COORDINATOR,
    CASE_MANAGER,
    SOCIAL_WORKER,
    CARE_PROVIDER,
    ANALYST,
    ADMINISTRATOR,
    INTEGRATION,
)

# Roles a person can hold in a care team (not the same thing as a user's role).
TEAM_ROLES: Final = (
    "gp",
    "case_manager",
    "care_coordinator",
    "care_navigator",
    "social_worker",
    "district_nurse",
    "home_care_provider",
    "mental_health",
    "carer",
    "support_worker",
    "specialist_nurse",
    "rapid_response",
    "telecare_control_centre",
)

_PROFESSIONAL = frozenset({CLINICIAN, CARE_COORDINATOR, CASE_MANAGER, SOCIAL_WORKER})
_CARE = _PROFESSIONAL | {CARE_PROVIDER}
_LEADS = frozenset({CLINICIAN, CARE_COORDINATOR, CASE_MANAGER})

# (resource, action) -> roles allowed. Anything absent is refused.
PERMISSIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("person", "read"): _CARE,
    ("register", "read"): _CARE,
    ("register", "write"): _LEADS,
    ("care_team", "read"): _CARE,
    ("care_team", "write"): _PROFESSIONAL,
    ("caseload", "read"): _PROFESSIONAL,
    ("assessment", "read"): _CARE,
    ("assessment", "write"): _PROFESSIONAL,
    ("care_plan", "read"): _CARE,
    ("care_plan", "write"): _PROFESSIONAL,
    ("referral", "read"): _CARE,
    ("referral", "write"): _CARE,
    ("referral", "check_breaches"): _LEADS | {ADMINISTRATOR},
    ("contact", "read"): _CARE,
    ("contact", "write"): _PROFESSIONAL,
    ("incident", "read"): _CARE,
    ("incident", "write"): _CARE,
    ("service", "read"): _CARE | {ANALYST, ADMINISTRATOR},
    ("service", "write"): frozenset({ADMINISTRATOR}),
    # Home care and support workers attend multi-agency MDTs: they read a meeting they
    # attend (agenda limited to their own relationships); professionals arrange and decide.
    ("mdt", "read"): _CARE,
    ("mdt", "write"): _PROFESSIONAL,
    ("task", "read"): _CARE,
    ("task", "write"): _CARE,
    ("event", "write"): _CARE | {INTEGRATION},
    ("telehealth", "write"): _PROFESSIONAL,
    ("notification", "read"): _CARE,
    ("objection", "read"): _PROFESSIONAL,
    ("objection", "write"): _PROFESSIONAL,
    ("break_glass", "write"): _PROFESSIONAL,
    ("break_glass", "review"): frozenset({ADMINISTRATOR}),
    ("pseudonymised", "read"): frozenset({ANALYST}),
    ("user", "read"): frozenset({ADMINISTRATOR}),
    ("user", "write"): frozenset({ADMINISTRATOR}),
    ("audit", "read"): frozenset({ADMINISTRATOR}),
    # The outbox's failed and retrying messages (no body, address or person) and retry.
    ("outbox", "read"): frozenset({ADMINISTRATOR}),
    ("outbox", "write"): frozenset({ADMINISTRATOR}),
    # Maturity self-assessments (careweave.care.maturity): commissioners and administrators
    # edit and agree; care-team roles read. Not personal data. ANALYST is the product
    # brief's one "commissioner / analyst" user (docs/maturity.md, Roles), so it edits.
    ("maturity", "read"): _CARE | {ANALYST, ADMINISTRATOR},
    ("maturity", "write"): frozenset({ANALYST, ADMINISTRATOR}),
}

# Roles whose writes do not need a relationship with the person (system feeds).
RELATIONSHIP_EXEMPT: Final = frozenset({INTEGRATION})


def allowed(role: str, resource: str, action: str) -> bool:
    return role in PERMISSIONS.get((resource, action), frozenset())
