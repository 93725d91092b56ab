"""FHIR DiagnosticReport: its contained result Observations become observations rows.

Results that are references to Observations elsewhere in the input are mapped
as those Observations; a report whose results are all elsewhere (or that has
none) is kept raw, with its conclusion, since no canonical table holds reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careweave.importers.fhir.fields import Resource, Skip, skip_status
from careweave.importers.fhir.handlers.observations import observation

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper

#: Fields a contained result takes from its report when it has none of its own.
INHERITED = ("subject", "encounter", "effectiveDateTime", "effectivePeriod", "issued", "performer")


def diagnostic_report(m: FhirMapper, res: Resource, key: str) -> None:
    skip_status(res, "entered-in-error", "cancelled")
    contained = {
        c.get("id"): c
        for c in res.get("contained") or ()
        if isinstance(c, dict) and c.get("resourceType") == "Observation"
    }
    results = []
    for ref in res.get("result") or ():
        target = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(target, str) and target.startswith("#") and target[1:] in contained:
            results.append(contained[target[1:]])
    if not results:
        raise Skip("its results are Observations of their own (mapped as such)", None)
    for obs in results:
        merged = {k: res[k] for k in INHERITED if k in res and not _has_own(obs, k)} | obs
        observation(m, merged, f"{key}#{obs.get('id')}")
    # Counted as Observations seen and mapped, like their rows (which finalise may still
    # move to raw: a person not in the input, a date after death).
    m.report.seen["Observation"] += len(results)
    m.report.mapped["Observation"] += len(results)


def _has_own(obs: Resource, field: str) -> bool:
    if field.startswith("effective"):
        return any(k.startswith("effective") for k in obs)
    return field in obs
