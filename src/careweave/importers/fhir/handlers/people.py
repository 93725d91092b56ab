"""FHIR identity and organisation resources: Patient, Organization, Practitioner(Role)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from careweave.dataset.nhs_number import is_valid
from careweave.importers import vocab
from careweave.importers.fhir.fields import (
    Resource,
    Skip,
    codes_of,
    codes_of_list,
    first_text,
    ref_id,
)
from careweave.importers.fhir.handlers.identity import (
    death_notice_removed,
    identity,
    verification_status,
)
from careweave.importers.values import parse_date

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def patient(m: FhirMapper, res: Resource, key: str) -> None:
    nhs = None
    for ident in res.get("identifier") or ():
        if isinstance(ident, dict) and ident.get("system") == vocab.NHS_NUMBER_SYSTEM:
            value = str(ident.get("value") or "").replace(" ", "").replace("-", "")
            if is_valid(value):
                nhs = value
                status = verification_status(ident)
                if status is not None and status != vocab.NHS_NUMBER_VERIFIED:
                    m.report.problem(
                        m.file_name,
                        m.entry,
                        "unverified_nhs_number",
                        f"Patient {key}: NHS number verification status {status} "
                        "(not verified); the number is used",
                    )
            else:
                m.report.problem(
                    m.file_name,
                    m.entry,
                    "invalid_nhs_number",
                    f"Patient {key}: NHS number fails the Modulus-11 check; surrogate used",
                )
    dob = parse_date(res.get("birthDate"))
    if dob is None:
        raise Skip("missing or invalid required field birthDate")
    real = nhs is not None
    sex = vocab.SEX.get(str(res.get("gender", "unknown")).lower(), "unknown")
    practice = None
    for gp in res.get("generalPractitioner") or ():
        practice = ref_id(gp)
        if practice:
            break
    practice = practice or ref_id(res.get("managingOrganization"))
    # A death notice the Spine has removed (UK Core status U) is not a death.
    dod = None if death_notice_removed(res) else parse_date(res.get("deceasedDateTime"))
    m.stager.add(
        "s_people",
        (
            *(key, nhs, real, dob, sex, ethnicity(res), practice, dod, *identity(res)),
            person_detail(res),
            *m.loc(),
        ),
    )


def person_detail(res: Resource) -> str | None:
    """JSON of the Careweave person-detail extension (small area, deprivation decile,
    local authority, care-home resident) where the Patient carries it; else None."""
    out: dict[str, object] = {}
    for ext in res.get("extension") or ():
        if not isinstance(ext, dict) or ext.get("url") != vocab.PERSON_DETAIL:
            continue
        for sub in ext.get("extension") or ():
            if not isinstance(sub, dict):
                continue
            name = sub.get("url")
            if name == "small-area" and isinstance(sub.get("valueString"), str):
                out["small_area"] = sub["valueString"][:16]
            elif name == "deprivation-decile" and sub.get("valueInteger") in range(1, 11):
                out["deprivation_decile"] = sub["valueInteger"]
            elif name == "local-authority" and ref_id(sub.get("valueReference")):
                out["local_authority"] = ref_id(sub.get("valueReference"))
            elif name == "care-home-resident" and isinstance(sub.get("valueBoolean"), bool):
                out["care_home_resident"] = sub["valueBoolean"]
    return orjson.dumps(out).decode() if out else None


def ethnicity(res: Resource) -> str:
    for ext in res.get("extension") or ():
        if not isinstance(ext, dict):
            continue
        url = ext.get("url")
        if url == vocab.US_CORE_RACE:
            for sub in ext.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == "ombCategory":
                    code = str((sub.get("valueCoding") or {}).get("code", ""))
                    return vocab.US_RACE.get(code, "unknown")
        elif url in vocab.UK_ETHNIC_EXTENSIONS:
            for _, code, _ in codes_of(ext.get("valueCodeableConcept")):
                return vocab.ethnic_from_nhs(code)
    return "unknown"


def organization(m: FhirMapper, res: Resource, key: str) -> None:
    org_type = "other"
    for _, code, _ in codes_of_list(res.get("type")):
        if code in vocab.ORG_TYPE:
            org_type = vocab.ORG_TYPE[code]
            if org_type != "other":
                break
    ods = None
    for ident in res.get("identifier") or ():
        if (
            isinstance(ident, dict)
            and ident.get("system") == "https://fhir.nhs.uk/Id/ods-organization-code"
        ):
            ods = str(ident.get("value") or "") or None
    name = str(res.get("name") or ods or key)
    parent = ref_id(res.get("partOf"))
    m.stager.add("s_orgs", (key, ods, org_type, name, parent, *m.loc()))


def practitioner(m: FhirMapper, res: Resource, key: str) -> None:
    role = lead = None
    for q in res.get("qualification") or ():
        if isinstance(q, dict):
            title = first_text(q.get("code"))
            role, lead = vocab.staff_role(title), vocab.lead_role(title)
            if role:
                break
    m.stager.add("s_practitioners", (key, None, role, lead, *m.loc()))


def practitioner_role(m: FhirMapper, res: Resource, key: str) -> None:
    who = ref_id(res.get("practitioner"))
    if who is None:
        raise Skip("missing required field practitioner")
    text = " ".join(
        t
        for t in (first_text(c) for c in (res.get("code") or []) + (res.get("specialty") or []))
        if t
    )
    org = ref_id(res.get("organization"))
    m.stager.add(
        "s_practitioners", (who, org, vocab.staff_role(text), vocab.lead_role(text), *m.loc())
    )


# -- activity
