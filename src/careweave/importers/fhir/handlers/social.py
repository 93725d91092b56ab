"""Careweave's own social-care resources (its FHIR API and Bulk export, docs/fhir.md
"Social care") back to the canonical social tables: an Observation coded in
``.../CodeSystem/social-care-assessment`` -> ``social_care_assessments``; an EpisodeOfCare
whose ``type`` has an ``.../CodeSystem/episode-type`` code of social care
(``care-placement``, ``reablement``, ``telecare``) -> ``care_placements``,
``reablement_episodes``, ``telecare_services``, with the ``episode-detail`` extension's
values. Other Observations and EpisodeOfCare are the other handlers'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from careweave.dataset import fhir_vocabulary as fv
from careweave.dataset import vocabulary as V
from careweave.importers.fhir.fields import Resource, Skip, codes_of, ref_id
from careweave.importers.values import parse_date

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def _code(cc: Any, system: str) -> str | None:
    for uri, code, _ in codes_of(cc):
        if uri == system:
            return code
    return None


def assessment_type(res: Resource) -> str | None:
    """The kind of social-care assessment an Observation is coded as, else None."""
    return _code(res.get("code"), fv.SOCIAL_CARE_ASSESSMENT_SYSTEM)


def assessment(m: FhirMapper, res: Resource, key: str) -> None:
    """A social-care assessment: its kind, outcome, day and assessing local authority."""
    kind = assessment_type(res)
    if kind not in V.SOCIAL_CARE_ASSESSMENT:
        raise Skip(f"social-care assessment code {kind!r} is not one of Careweave's", None)
    patient = m.subject(res)
    when = parse_date(res.get("effectiveDateTime"))
    if when is None:
        raise Skip("missing required field effectiveDateTime")
    outcome = _code(res.get("valueCodeableConcept"), fv.SOCIAL_CARE_OUTCOME_SYSTEM)
    if outcome not in V.SOCIAL_CARE_OUTCOME:
        raise Skip("missing required field valueCodeableConcept (a social-care-outcome code)")
    performers = [ref_id(p) for p in res.get("performer") or ()]
    org = next((p for p in performers if p), None)
    if org is None:
        raise Skip("missing required field performer (the assessing local authority)")
    m.stager.add("s_social_assessments", (key, patient, org, when, kind, outcome, *m.loc()))


def episode_table(res: Resource) -> str | None:
    """The canonical social table an EpisodeOfCare is a row of, else None."""
    for cc in res.get("type") or ():
        table = fv.SOCIAL_EPISODES.get(_code(cc, fv.EPISODE_TYPE_SYSTEM) or "")
        if table is not None:
            return table
    return None


def _kind(res: Resource, system: str) -> str | None:
    for cc in res.get("type") or ():
        code = _code(cc, system)
        if code is not None:
            return code
    return None


def _detail(res: Resource) -> dict[str, Any]:
    """The episode-detail extension's values (references as the id they name)."""
    out: dict[str, Any] = {}
    for ext in res.get("extension") or ():
        if not isinstance(ext, dict) or ext.get("url") != fv.EPISODE_DETAIL:
            continue
        for part in ext.get("extension") or ():
            name = part.get("url")
            if "valueReference" in part:
                out[name] = ref_id(part["valueReference"])
            elif "valueBoolean" in part and isinstance(part["valueBoolean"], bool):
                out[name] = part["valueBoolean"]
            elif isinstance(part.get("valueDecimal"), int | float) and part["valueDecimal"] >= 0:
                out[name] = float(part["valueDecimal"])
    return out


def episode(m: FhirMapper, res: Resource, key: str, table: str) -> None:
    """A placement, reablement episode or telecare service (``table``)."""
    patient = m.subject(res, "patient")
    period = res.get("period") or {}
    start = parse_date(period.get("start"))
    if start is None:
        raise Skip("missing required field period.start")
    end = parse_date(period.get("end"))
    org = ref_id(res.get("managingOrganization"))
    detail = _detail(res)
    kind: str | None = None
    if table == "care_placements":
        kind = _kind(res, fv.PLACEMENT_TYPE_SYSTEM)
        if kind not in V.PLACEMENT_TYPE:
            raise Skip("missing required field type (a placement-type code)")
        if org is None or not detail.get("local_authority"):
            raise Skip("missing required field managingOrganization or local_authority")
        if not isinstance(detail.get("permanent"), bool):
            raise Skip("missing required field episode-detail permanent")
    elif table == "reablement_episodes":
        if org is None:
            raise Skip("missing required field managingOrganization (the local authority)")
    else:
        kind = _kind(res, fv.TELECARE_SERVICE_SYSTEM)
        kind = kind if kind in V.TELECARE_SERVICE else "other"
    m.stager.add(
        "s_social_episodes",
        (key, patient, table, org, start, end, kind, orjson.dumps(detail).decode(), *m.loc()),
    )
