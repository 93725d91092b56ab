"""FHIR Observation, its components split into rows of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careweave.importers import vocab
from careweave.importers.fhir.fields import (
    VALUE_KEYS,
    Resource,
    Skip,
    ref_id,
    ref_type,
    skip_status,
    value_of,
)
from careweave.importers.fhir.handlers import social
from careweave.importers.values import parse_date, parse_ts

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def observation(m: FhirMapper, res: Resource, key: str) -> None:
    skip_status(res, "entered-in-error", "cancelled")
    if social.assessment_type(res) is not None:  # Careweave's social-care assessment
        social.assessment(m, res, key)
        return
    patient = m.subject(res)
    eff = (
        res.get("effectiveDateTime")
        or res.get("effectiveInstant")
        or (res.get("effectivePeriod") or {}).get("start")
        or res.get("issued")
    )
    when = parse_date(eff)
    if when is None:
        raise Skip("missing required field effective[x]")
    device = "device" in res
    recorded = parse_ts(eff) if device else None
    encounter = ref_id(res.get("encounter"))
    org = None
    for p in res.get("performer") or ():
        if ref_type(p) == "Organization":
            org = ref_id(p)
            break
    components = res.get("component")
    # The observation's own value (or its code alone), then each component as a row of its own.
    parts: list[tuple[str, Resource, str]] = []
    if not VALUE_KEYS.isdisjoint(res) or not components:
        parts.append((key, res, "observation"))
    for i, comp in enumerate(components or ()):
        if isinstance(comp, dict):
            parts.append((f"{key}:{i}", comp, "observation component"))
    rows: list[tuple[Any, ...]] = []
    for rid, part, what in parts:
        system, code, term = m.code(part.get("code"), what)
        value, unit, term = value_of(part, term)
        measure = vocab.MEASURES.get(code) if system in ("loinc", "snomed") else None
        rows.append(
            (
                *(rid, patient, encounter, org, when, recorded, system, code, term, measure),
                value,
                unit,
                device,
                *m.loc(),
            )
        )
    for row in rows:
        m.stager.add("s_observations", row)
