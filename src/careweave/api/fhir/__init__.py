"""The FHIR R4 (UK Core) endpoint at ``/fhir`` over the care core (docs/fhir.md).

Each resource group is a module with its own routes, registered here (one place): its
routes join ``router`` and its resource types the CapabilityStatement."""

from careweave.api.fhir import (
    bulk_router,
    care_store,
    episodes,
    history,
    linked_router,
    transaction,
    writes,
)
from careweave.api.fhir.router import router

router.include_router(care_store.router)
episodes.add_routes(router)
writes.add_routes(router)
transaction.add_routes(router)
linked_router.add_routes(router)
bulk_router.add_routes(router)
history.add_routes(router)  # last: its refusal for unversioned types matches any type

__all__ = ["router"]
