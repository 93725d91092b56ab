"""The FHIR R4 (UK Core) endpoint at ``/fhir`` over the care core (docs/fhir.md).

Each resource group is a module with its own routes, registered here (one place): its
routes join ``router`` and its resource types the CapabilityStatement."""

from careweave.api.fhir import care_store, writes
from careweave.api.fhir.router import router

router.include_router(care_store.router)
writes.add_routes(router)

__all__ = ["router"]
