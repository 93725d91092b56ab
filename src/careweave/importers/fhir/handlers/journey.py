"""FHIR AllergyIntolerance, RelatedPerson and EpisodeOfCare (case management)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from careweave.dataset.nhs_number import is_valid
from careweave.importers import vocab
from careweave.importers.fhir.fields import (
    Resource,
    Skip,
    codes_of,
    codes_of_list,
    ref_id,
    ref_type,
)
from careweave.importers.fhir.handlers import social
from careweave.importers.values import parse_date

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def allergy(m: FhirMapper, res: Resource, key: str) -> None:
    """AllergyIntolerance -> allergies; entered in error or refuted: kept raw."""
    for _, vcode, _ in codes_of(res.get("verificationStatus")):
        if vcode in ("entered-in-error", "refuted"):
            raise Skip(f"verification status {vcode}", None)
    patient = m.subject(res, "patient")
    system, code, term = m.code(res.get("code"), "allergy")
    when = (
        parse_date(res.get("recordedDate"))
        or parse_date(res.get("onsetDateTime"))
        or parse_date((res.get("onsetPeriod") or {}).get("start"))
    )
    if when is None:
        raise Skip("missing required field recordedDate/onset[x]")
    cats = [c for c in res.get("category") or () if c in vocab.ALLERGY_CATEGORIES]
    status = "active"
    for _, scode, _ in codes_of(res.get("clinicalStatus")):
        status = scode if scode in ("active", "inactive", "resolved") else status
    criticality = vocab.ALLERGY_CRITICALITY.get(str(res.get("criticality")))
    recorder = res.get("recorder") or res.get("asserter")
    org = ref_id(recorder) if ref_type(recorder) == "Organization" else None
    row = (key, patient, org, when, system, code, term, cats[0] if cats else "other")
    m.stager.add("s_allergies", (*row, criticality, status, *m.loc()))


def related_person(m: FhirMapper, res: Resource, key: str) -> None:
    """RelatedPerson -> person_relationships when the related person has an NHS number.

    The row is from the related person's side (what they are to the patient:
    ``carer_of``, ``spouse``, ``next_of_kin``, ``other``); whether they are in the
    population is decided when the import is finalised.
    """
    patient = m.subject(res, "patient")
    nhs = None
    for ident in res.get("identifier") or ():
        if isinstance(ident, dict) and ident.get("system") == vocab.NHS_NUMBER_SYSTEM:
            value = str(ident.get("value") or "").replace(" ", "")
            nhs = value if is_valid(value) else nhs
    if nhs is None:
        raise Skip("related person without an NHS number: not a person of the population", None)
    relationship = "other"
    for _, code, display in codes_of_list(res.get("relationship")):
        found = vocab.RELATIONSHIP.get(code)
        if found is None and display and "carer" in display.lower():
            found = "carer_of"
        if found is not None:
            relationship = found
            break
    period = res.get("period") or {}
    start, end = parse_date(period.get("start")), parse_date(period.get("end"))
    m.stager.add("s_relationships", (key, patient, nhs, relationship, start, end, *m.loc()))


def is_case_management(res: Resource) -> bool:
    """An EpisodeOfCare whose type says case management (code display or text)."""
    for cc in res.get("type") or ():
        texts = [cc.get("text")] if isinstance(cc, dict) else []
        texts += [display for _, _, display in codes_of(cc)]
        if any(isinstance(t, str) and "case manag" in t.lower() for t in texts):
            return True
    return False


def episode_of_care(m: FhirMapper, res: Resource, key: str) -> None:
    """EpisodeOfCare -> case_management_episodes, when it is case management; Careweave's
    social-care episodes (placements, reablement, telecare) -> their tables (``social``)."""
    if res.get("status") == "entered-in-error":
        raise Skip("status entered-in-error", None)
    table = social.episode_table(res)
    if table is not None:
        social.episode(m, res, key, table)
        return
    if not is_case_management(res):
        raise Skip("not a case-management episode (no canonical table for it)", None)
    patient = m.subject(res, "patient")
    period = res.get("period") or {}
    start = parse_date(period.get("start"))
    if start is None:
        raise Skip("missing required field period.start")
    manager = res.get("careManager") or {}
    lead = vocab.lead_role(manager.get("display")) if isinstance(manager, dict) else None
    org = ref_id(res.get("managingOrganization"))
    end = parse_date(period.get("end"))
    m.stager.add("s_episodes", (key, patient, org, start, end, ref_id(manager), lead, *m.loc()))
