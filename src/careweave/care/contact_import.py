"""Contacts from FHIR RelatedPerson: the daughter 150 miles away, from the source system.

``careweave import fhir`` builds the canonical dataset, where a RelatedPerson becomes a
``person_relationships`` row only when the related person is a person of the population
(an NHS number of someone in it); anyone else is kept raw there, because contacts who
are not in the population are operational data (CONTRACT.md). This module takes those
into the care store: ``careweave contacts import FILE... --db URL`` reads the same files
(Bundles, Bulk Data NDJSON, directories, .gz: the FHIR importer's reader) and, for each
RelatedPerson

- whose patient is found (``patient.identifier`` with an NHS number, or a reference to a
  Patient in the files that has one) **and** is in the store's people index;
- who is **not** themselves a person of the index (an NHS number of someone in it: that is
  a person link, synced from the warehouse by ``careweave sync``);
- and who has a name,

creates or updates one of that person's contacts. The contact is matched by its source
(``source_ref`` = ``RelatedPerson/<id>``), else by the same name among the person's
current contacts with no source (one typed in by staff, then adopted), else added.

What is taken: the name (``text``, else given and family names of the ``usual`` or
``official`` name, else the first), the relationship (v3 RoleCode and display words:
daughter, son, spouse, partner, sibling, grandchild, friend, neighbour; else other), the
first email and the first UK mobile number in ``telecom`` (a landline is not kept: the
store texts mobiles only). **Consent is not imported**: FHIR RelatedPerson says nothing of
what someone agreed to be told or how, so a new contact has no channel and no topic, and
staff record the consent on the contact's page; a re-import keeps the consent recorded,
dropping a channel only when its address is no longer sent. ``active: false`` ends the
contact; a contact ended in Careweave is left ended. Each change is audited as the
``system`` account; the whole run is one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.care.contacts import EMAIL, uk_mobile
from careweave.dataset.nhs_number import is_valid
from careweave.security import audit
from careweave.store.models import Contact, Person, User

#: The NHS number's identifier system (as careweave.importers.vocab and the FHIR facade; the
#: care side may not import the importers, so the CLI reads the files and passes the dicts).
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"

#: v3 RoleCode (and the words of a display or text) -> care/contacts.RELATIONSHIPS.
ROLE_CODES = {
    "DAU": "daughter",
    "DAUC": "daughter",
    "DAUADOPT": "daughter",
    "DAUFOST": "daughter",
    "STPDAU": "daughter",
    "DAUINLAW": "daughter",
    "SON": "son",
    "SONC": "son",
    "SONADOPT": "son",
    "SONFOST": "son",
    "STPSON": "son",
    "SONINLAW": "son",
    "SPS": "spouse",
    "HUSB": "spouse",
    "WIFE": "spouse",
    "DOMPART": "partner",
    "SIGOTHR": "partner",
    "SIB": "sibling",
    "BRO": "sibling",
    "SIS": "sibling",
    "HSIB": "sibling",
    "HBRO": "sibling",
    "HSIS": "sibling",
    "GRNDCHILD": "grandchild",
    "GRNDDAU": "grandchild",
    "GRNDSON": "grandchild",
    "FRND": "friend",
    "NBOR": "neighbour",
}
WORDS = (
    ("granddaughter", "grandchild"),
    ("grandson", "grandchild"),
    ("grandchild", "grandchild"),
    ("daughter", "daughter"),
    ("son", "son"),
    ("husband", "spouse"),
    ("wife", "spouse"),
    ("spouse", "spouse"),
    ("partner", "partner"),
    ("brother", "sibling"),
    ("sister", "sibling"),
    ("sibling", "sibling"),
    ("friend", "friend"),
    ("neighbour", "neighbour"),
    ("neighbor", "neighbour"),
)


@dataclass(frozen=True)
class Related:
    """One RelatedPerson, as a contact of the patient."""

    source_ref: str
    patient_nhs: str | None
    patient_ref: str | None
    own_nhs: str | None
    name: str | None
    relationship: str
    email: str | None
    phone: str | None
    active: bool


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    ended: int = 0
    #: Not turned into contacts, by reason in words.
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _nhs(identifiers: Any) -> str | None:
    for ident in identifiers if isinstance(identifiers, list) else [identifiers]:
        if isinstance(ident, dict) and ident.get("system") == NHS_NUMBER_SYSTEM:
            value = str(ident.get("value") or "").replace(" ", "")
            if is_valid(value):
                return value
    return None


def _name(names: Any) -> str | None:
    if not isinstance(names, list) or not names:
        return None
    names = [n for n in names if isinstance(n, dict)]
    chosen = next((n for n in names if n.get("use") in ("usual", "official")), None)
    for n in [chosen, *names]:
        if n is None:
            continue
        text = str(n.get("text") or "").strip()
        if not text:
            given = [str(g) for g in n.get("given") or () if isinstance(g, str)]
            text = " ".join([*given, str(n.get("family") or "")]).strip()
        if text:
            return " ".join(text.split())[:200]
    return None


def relationship_of(codings: Any) -> str:
    """The contact relationship from RelatedPerson.relationship (codes, then words)."""
    texts: list[str] = []
    for cc in codings if isinstance(codings, list) else []:
        if not isinstance(cc, dict):
            continue
        for coding in cc.get("coding") or ():
            if isinstance(coding, dict):
                found = ROLE_CODES.get(str(coding.get("code") or ""))
                if found:
                    return found
                texts.append(str(coding.get("display") or ""))
        texts.append(str(cc.get("text") or ""))
    for text in texts:
        words = set("".join(c if c.isalpha() else " " for c in text.lower()).split())
        for word, rel in WORDS:
            if word in words:
                return rel
    return "other"


def _telecom(points: Any) -> tuple[str | None, str | None]:
    email = phone = None
    for p in points if isinstance(points, list) else []:
        if not isinstance(p, dict):
            continue
        period = p.get("period")
        if isinstance(period, dict) and period.get("end"):
            continue  # a number they no longer use
        value = str(p.get("value") or "").strip()
        system = p.get("system")
        if system == "email" and email is None and EMAIL.match(value) and len(value) <= 254:
            email = value
        elif system in ("phone", "sms") and phone is None:
            try:
                phone = uk_mobile(value)
            except ValueError:
                continue  # a landline or a number abroad: not textable from here
    return email, phone


def _ref(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return str(ref["reference"])
    return None


def related_people(resources: Iterable[tuple[dict[str, Any], str | None]]) -> Iterator[Related]:
    """The RelatedPersons among ``(resource, fullUrl)`` pairs, their patients resolved
    through the Patients among them (all read first: a Bundle may list either first)."""
    patients: dict[str, str] = {}
    related: list[dict[str, Any]] = []
    for res, full_url in resources:
        kind = res.get("resourceType")
        if kind == "Patient":
            nhs = _nhs(res.get("identifier"))
            if nhs is not None:
                if res.get("id"):
                    patients[f"Patient/{res['id']}"] = nhs
                if full_url:
                    patients[full_url] = nhs
        elif kind == "RelatedPerson":
            related.append(res)
    for res in related:
        email, phone = _telecom(res.get("telecom"))
        patient = res.get("patient")
        ref = _ref(patient)
        nhs = _nhs(patient.get("identifier")) if isinstance(patient, dict) else None
        if nhs is None and ref is not None:
            # "Patient/x", a Bundle's fullUrl, or "urn:uuid:x" for the Patient whose id is x.
            bare = ref.removeprefix("urn:uuid:").rsplit("/", 1)[-1]
            nhs = patients.get(ref) or patients.get(f"Patient/{bare}")
        yield Related(
            source_ref=f"RelatedPerson/{res.get('id') or '?'}"[:200],
            patient_nhs=nhs,
            patient_ref=ref,
            own_nhs=_nhs(res.get("identifier")),
            name=_name(res.get("name")),
            relationship=relationship_of(res.get("relationship")),
            email=email,
            phone=phone,
            active=res.get("active") is not False,
        )


def _record(s: Session, actor: User, now: dt.datetime, c: Contact, detail: str) -> None:
    audit.record(
        s,
        actor=actor.username,
        action="write",
        resource="contact",
        resource_id=c.id,
        nhs_number=c.nhs_number,
        detail=detail,
        now=now,
    )


def _find(s: Session, r: Related, nhs: str) -> Contact | None:
    found = s.execute(
        select(Contact)
        .where(Contact.nhs_number == nhs, Contact.source_ref == r.source_ref)
        .order_by(Contact.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if found is not None or r.name is None:
        return found
    return s.execute(
        select(Contact)
        .where(
            Contact.nhs_number == nhs,
            Contact.source_ref.is_(None),
            Contact.ended_at.is_(None),
            func.lower(Contact.name) == r.name.lower(),
        )
        .order_by(Contact.id)
        .limit(1)
    ).scalar_one_or_none()


def apply(s: Session, actor: User, now: dt.datetime, related: Iterable[Related]) -> Counts:
    """Create, update or end the contacts ``related`` describes; returns what was done."""
    counts = Counts()
    for r in related:
        nhs = r.patient_nhs
        if nhs is None:
            counts.skip("patient without an NHS number")
            continue
        if s.get(Person, nhs) is None:
            counts.skip("patient not in the care store")
            continue
        if r.own_nhs is not None and s.get(Person, r.own_nhs) is not None:
            counts.skip("a person of the population (a person link, from careweave sync)")
            continue
        if r.name is None:
            counts.skip("no name")
            continue
        c = _find(s, r, nhs)
        if c is None:
            if not r.active:
                counts.skip("inactive and not a contact")
                continue
            c = Contact(
                nhs_number=nhs,
                name=r.name,
                relationship=r.relationship,
                email=r.email,
                phone=r.phone,
                by_email=False,
                by_sms=False,
                topics=[],
                recorded_by=actor.id,
                recorded_at=now,
                version=1,
                source_ref=r.source_ref,
            )
            s.add(c)
            s.flush()
            _record(s, actor, now, c, f"added (imported from {r.source_ref})")
            counts.added += 1
            continue
        if c.ended_at is not None:
            counts.skip("ended in Careweave: left ended")
            continue
        if not r.active:
            c.ended_at, c.version = now, c.version + 1
            _record(s, actor, now, c, f"ended (inactive in {r.source_ref})")
            counts.ended += 1
            continue
        new = (r.name, r.relationship, r.email, r.phone, r.source_ref)
        if (c.name, c.relationship, c.email, c.phone, c.source_ref) == new:
            counts.unchanged += 1
            continue
        c.name, c.relationship, c.email, c.phone, c.source_ref = new
        # A consent stays with its channel only while the address is still there.
        c.by_email = c.by_email and c.email is not None
        c.by_sms = c.by_sms and c.phone is not None
        c.recorded_by, c.recorded_at, c.version = actor.id, now, c.version + 1
        _record(s, actor, now, c, f"changed (imported from {r.source_ref})")
        counts.updated += 1
    return counts
