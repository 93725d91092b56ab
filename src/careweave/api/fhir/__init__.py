"""The FHIR R4 (UK Core) endpoint at ``/fhir`` over the care core (docs/fhir.md)."""

from careweave.api.fhir.router import router

__all__ = ["router"]
