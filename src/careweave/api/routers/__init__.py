"""One router per area; ``ALL`` is what the app includes."""

from careweave.api import fhir
from careweave.api.routers import (
    admin,
    auth,
    care,
    contacts,
    incidents,
    maturity,
    people,
    referrals,
    relationships,
)

ALL = (
    auth.router,
    people.router,
    relationships.router,
    care.router,
    referrals.router,
    incidents.router,
    contacts.router,
    admin.router,
    maturity.router,
    fhir.router,
)
