"""Page routers; ``ROUTERS`` is what careweave.web.app.install includes."""

from careweave.web.pages import (
    contacts,
    directory,
    editing,
    home,
    incidents,
    intelligence,
    maturity,
    maturity_edit,
    mdt,
    patient,
    population,
    referrals,
    refused,
    relationships,
    search,
    signin,
    users,
    worklist,
)

ROUTERS = (
    signin.router,
    home.router,
    worklist.router,
    patient.router,
    search.router,
    editing.router,
    mdt.router,
    maturity_edit.router,  # before maturity: /maturity/new is not an assessment id
    maturity.router,
    referrals.router,
    incidents.router,
    relationships.router,
    contacts.router,
    population.router,
    intelligence.router,
    directory.router,
    users.router,
    refused.router,
)
