"""FHIR care resources: MedicationRequest/Statement, CarePlan, CareTeam."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careweave.importers.fhir.fields import (
    Resource,
    Skip,
    as_str,
    first_text,
    ref_id,
    ref_type,
    skip_status,
)
from careweave.importers.values import parse_date

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


#: care_plans.code of a CarePlan sent without a category (code_system ``other``).
UNCATEGORISED_PLAN = "uncategorised"


def medication(m: FhirMapper, res: Resource, key: str) -> None:
    """MedicationRequest, MedicationStatement, MedicationDispense: a medication issue.

    The medicine is ``medicationCodeableConcept``, a contained Medication, or a
    Medication anywhere else in the input (same Bundle, another file), resolved
    by reference when the import is finalised.
    """
    skip_status(res, "entered-in-error")
    rtype = res["resourceType"]
    if rtype == "MedicationDispense" and res.get("authorizingPrescription"):
        raise Skip("dispensed against a MedicationRequest, which is the issue", None)
    patient = m.subject(res)
    medication_ref = None
    cc = res.get("medicationCodeableConcept")
    if cc is None:
        mref = res.get("medicationReference") or {}
        target = mref.get("reference", "")
        if isinstance(target, str) and target.startswith("#"):
            for c in res.get("contained") or ():
                if isinstance(c, dict) and c.get("id") == target[1:]:
                    cc = c.get("code")
        else:
            medication_ref = ref_id(mref)
        if cc is None and medication_ref is None:
            raise Skip(
                "medication[x] is missing or names no contained Medication",
                "unresolved_medication",
            )
    system, code, term = m.code(cc, "medication") if cc is not None else (None, None, None)
    when = (
        parse_date(res.get("authoredOn"))
        or parse_date(res.get("effectiveDateTime"))
        or parse_date((res.get("effectivePeriod") or {}).get("start"))
        or parse_date(res.get("dateAsserted"))
        or parse_date(res.get("whenHandedOver"))
        or parse_date(res.get("whenPrepared"))
    )
    if when is None:
        raise Skip("missing required field authoredOn/effective[x]/whenHandedOver")
    qty = ((res.get("dispenseRequest") or {}).get("quantity") or res.get("quantity") or {}).get(
        "value"
    )
    encounter = ref_id(res.get("encounter") or res.get("context"))
    quantity = float(qty) if isinstance(qty, int | float) else None
    # The prescribing organisation, where the requester (or performer) is one.
    org = None
    for who in (res.get("requester"), res.get("performer")):
        if ref_type(who) == "Organization":
            org = ref_id(who)
            break
    m.stager.add(
        "s_medications",
        (
            key,
            rtype,
            patient,
            encounter,
            org,
            when,
            system,
            code,
            term,
            quantity,
            medication_ref,
            *m.loc(),
        ),
    )


def medication_definition(m: FhirMapper, res: Resource, key: str) -> None:
    """A Medication on its own: its code, for the requests that reference it."""
    system, code, term = m.code(res.get("code"), "medication")
    m.stager.add("s_medication_defs", (key, system, code, term, *m.loc()))


def care_plan(m: FhirMapper, res: Resource, key: str) -> None:
    patient = m.subject(res)
    period = res.get("period") or {}
    start = parse_date(period.get("start")) or parse_date(res.get("created"))
    if start is None:
        raise Skip("missing required field period.start")
    cats = res.get("category") or []
    merged = {
        "coding": [c for cat in cats if isinstance(cat, dict) for c in cat.get("coding") or ()]
    }
    if cats and isinstance(cats[-1], dict) and cats[-1].get("text"):
        merged["text"] = cats[-1]["text"]
    if merged["coding"]:
        system, code, term = m.code(merged, "care plan category")
    else:
        # category is optional in FHIR and UK Core: a plan without one is still a plan.
        title = res.get("title") or res.get("description") or merged.get("text")
        system, code, term = "other", UNCATEGORISED_PLAN, as_str(title)
    m.stager.add(
        "s_care_plans",
        (
            key,
            patient,
            start,
            parse_date(period.get("end")),
            system,
            code,
            term,
            as_str(res.get("status")),
            *m.loc(),
        ),
    )


def care_team(m: FhirMapper, res: Resource, key: str) -> None:
    patient = m.subject(res)
    period = res.get("period") or {}
    start, end = parse_date(period.get("start")), parse_date(period.get("end"))
    managing = None
    for ref in res.get("managingOrganization") or ():
        managing = ref_id(ref)
        break
    members: list[tuple[Any, ...]] = []
    for i, p in enumerate(res.get("participant") or ()):
        if not isinstance(p, dict):
            continue
        member = ref_id(p.get("member"))
        if member is None or member == patient or ref_type(p.get("member")) == "Patient":
            continue
        role = None
        for r in p.get("role") or ():
            role = first_text(r)
            break
        org = ref_id(p.get("onBehalfOf")) or managing
        members.append(
            (
                f"{key}:{i}",
                patient,
                role or "unspecified",
                member,
                org,
                start,
                end,
                *m.loc(),
            )
        )
    if not members:
        raise Skip("no members other than the patient", None)
    for row in members:
        m.stager.add("s_care_team", row)
