"""Groups: the cohorts a Bulk Data export is run for.

A Group id names its rule, so it is stable and needs no table:

- ``practice-<org_id>``: the people registered at a GP practice;
- ``locality-<org_id>-level-4``: the people of a locality at CCM level 4 (case
  management) by the latest risk score, alive;
- ``caseload-<user id>``: the people on a lead professional's open case-management
  caseload (open register episodes).

A Group is not personal data (its rule and its size), so anyone who may read people or
pseudonymised data may read it; the members are exported, never listed in the Group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from careweave.api.fhir.outcome import FhirError
from careweave.store.models import Episode, Organisation, Person, User

GROUP_ID = "https://careweave.org/fhir/Id/group"
CHARACTERISTIC = "https://careweave.org/fhir/CodeSystem/group-rule"


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str
    rule: str  # practice | locality-level-4 | caseload
    subject: str  # org_id or user id
    managing: dict[str, str]

    def members(self) -> ColumnElement[bool]:
        """The SQL condition on ``Person`` for the group's members."""
        if self.rule == "practice":
            return Person.practice_id == self.subject
        if self.rule == "locality-level-4":
            return (
                (Person.locality_id == self.subject)
                & (Person.ccm_level == 4)
                & Person.date_of_death.is_(None)
            )
        return Person.nhs_number.in_(
            select(Episode.nhs_number).where(
                Episode.end_date.is_(None), Episode.lead_professional_id == int(self.subject)
            )
        )


def _practice(o: Organisation) -> Cohort:
    return Cohort(
        f"practice-{o.org_id}",
        f"Patients registered at {o.name}",
        "practice",
        o.org_id,
        {"reference": f"Organization/{o.org_id}"},
    )


def _locality(o: Organisation) -> Cohort:
    return Cohort(
        f"locality-{o.org_id}-level-4",
        f"{o.name}: people at CCM level 4 (case management)",
        "locality-level-4",
        o.org_id,
        {"reference": f"Organization/{o.org_id}"},
    )


def _caseload(u: User) -> Cohort:
    return Cohort(
        f"caseload-{u.id}",
        f"Case-management caseload of {u.display_name}",
        "caseload",
        str(u.id),
        {"display": u.display_name},
    )


def find(session: Session, group_id: str) -> Cohort:
    """The cohort a Group id names; 404 when there is none."""
    missing = FhirError(404, f"Group/{group_id[:80]}: no such group")
    m = re.fullmatch(r"(practice|locality|caseload)-([A-Za-z0-9.-]{1,40}?)(-level-4)?", group_id)
    if m is None:
        raise missing
    rule, subject, level = m.groups()
    if rule == "caseload" and subject.isdigit() and level is None:
        user = session.get(User, int(subject))
        if user is not None:
            return _caseload(user)
        raise missing
    org = session.get(Organisation, subject)
    if org is None:
        raise missing
    if rule == "practice" and level is None and org.org_type == "gp_practice":
        return _practice(org)
    if rule == "locality" and level and org.org_type == "locality":
        return _locality(org)
    raise missing


def every(session: Session) -> list[Cohort]:
    """Every group, in id order: practices, localities' level 4, open caseloads."""
    orgs = session.execute(
        select(Organisation)
        .where(Organisation.org_type.in_(("gp_practice", "locality")))
        .order_by(Organisation.org_id)
    ).scalars()
    out = [_practice(o) if o.org_type == "gp_practice" else _locality(o) for o in orgs]
    leads = session.execute(
        select(User)
        .where(User.id.in_(select(Episode.lead_professional_id).where(Episode.end_date.is_(None))))
        .order_by(User.id)
    ).scalars()
    out += [_caseload(u) for u in leads]
    return sorted(out, key=lambda c: c.id)


def size(session: Session, cohort: Cohort) -> int:
    return int(session.execute(select(func.count()).where(cohort.members())).scalar_one())


def resource(cohort: Cohort, quantity: int) -> dict[str, Any]:
    return {
        "resourceType": "Group",
        "id": cohort.id,
        "identifier": [{"system": GROUP_ID, "value": cohort.id}],
        "active": True,
        "type": "person",
        "actual": True,
        "name": cohort.name,
        "quantity": quantity,
        "managingEntity": cohort.managing,
        "characteristic": [
            {
                "code": {"coding": [{"system": CHARACTERISTIC, "code": cohort.rule}]},
                "valueCodeableConcept": {"text": cohort.subject},
                "exclude": False,
            }
        ],
    }
