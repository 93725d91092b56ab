"""Bulk Data export jobs (HL7 FHIR Bulk Data Access 2.0): NDJSON files per resource type.

A kick-off (``careweave.api.fhir.bulk_router``) decides, in the request's transaction and
with the same access rules as a search, *who* is exported (the cohort's NHS numbers),
audits it, and hands a ``bulk_jobs.Job`` to ``bulk_jobs.Exports``, which keeps the job in
the store and runs :class:`Exporter` in a thread of its own. The thread writes each type
to ``<Type>.ndjson.part`` and renames it to ``<Type>.ndjson`` only when complete; the
manifest exists only when every file does, so a half-written file is never served
(``bulk_jobs``: where jobs and files live, heartbeat, delete, expiry).

What is written:

- Patient from the people index (the Patient read's resource), Organization (every
  organisation: not personal data, and what the records' references point at), and the
  linked record from the warehouse (``careweave.api.fhir.linked``);
- pseudonymised (an analyst's export): Patient ids and every reference to them are the
  keyed pseudonym (``security.pseudonyms``, as in ``/analytics/people``), the Patient has
  no name, address, telephone or NHS number and only the year of birth; people who object
  to secondary use are left out.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from careweave.api.fhir import linked
from careweave.api.fhir.bulk_jobs import Job
from careweave.api.fhir.resources import instant, organization_data, patient_data
from careweave.dataset import fhir_vocabulary as vocab
from careweave.security.pseudonyms import pseudonym
from careweave.store.models import Organisation, Person

#: Every type an export can hold, in the order written.
TYPES = ("Patient", "Organization", *linked.SOURCES)
PSEUDONYM = "https://careweave.org/fhir/Id/pseudonym"
ETHNIC_CATEGORY = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
#: broad ethnic group -> an NHS ethnic category letter of that group (the importer reads
#: the letter back as the group: ``importers.vocab.NHS_ETHNIC_LETTER``).
ETHNIC_LETTER = {"white": "A", "mixed": "D", "asian": "H", "black": "M", "other": "S"}
ETHNIC_LETTER["unknown"] = "Z"
BATCH = 5_000
CHUNK = 900  # NHS numbers per IN (...) on the store (SQLite's parameter limit is 999)


class Cancelled(Exception):
    pass


class Writer:
    """One type's NDJSON file, written to ``.part`` and renamed when complete."""

    def __init__(self, job: Job, kind: str) -> None:
        self.job = job
        self.kind = kind
        self.path = job.directory / f"{kind}.ndjson"
        self.part = self.path.with_name(self.path.name + ".part")
        self.count = 0
        self.file = open(self.part, "wb")  # noqa: SIM115 (closed in close/abort)

    def write(self, resources: Iterable[dict[str, Any]]) -> None:
        if self.job.cancelled.is_set():
            raise Cancelled
        lines = [orjson.dumps(r) for r in resources]
        if lines:
            self.file.write(b"\n".join(lines) + b"\n")
            self.count += len(lines)
            self.job.written += len(lines)

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())  # on disk before it is named complete
        self.file.close()
        if self.count:
            os.replace(self.part, self.path)
            self.job.output.append({"type": self.kind, "count": self.count})
        else:  # no file for a type with nothing to export (Bulk Data 2.0)
            self.part.unlink()

    def abort(self) -> None:
        self.file.close()
        self.part.unlink(missing_ok=True)


def chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


class Exporter:
    """Writes a job's files from the store (``sessions``) and the warehouse cursor."""

    def __init__(self, sessions: sessionmaker[Session], reader: Any, key: bytes | None) -> None:
        self.sessions = sessions
        self.reader = reader
        self.key = key

    def __call__(self, job: Job) -> None:
        self.names: dict[str, str] = {}
        for kind in job.types:
            w = Writer(job, kind)
            try:
                if kind == "Patient":
                    self.patients(job, w)
                elif kind == "Organization":
                    self.organisations(w)
                else:
                    self.records(job, kind, w)
            except BaseException:
                w.abort()
                raise
            w.close()
            job.done_types += 1

    def subject(self, job: Job, nhs: str) -> str:
        if not job.pseudonymise:
            return nhs
        name = self.names.get(nhs)
        if name is None:
            assert self.key is not None
            name = self.names[nhs] = pseudonym(self.key, nhs)
        return name

    def patients(self, job: Job, w: Writer) -> None:
        with self.sessions() as s:
            for part in chunks(job.nhs_numbers, CHUNK):
                q = select(Person).where(Person.nhs_number.in_(part))
                if job.since is not None:
                    q = q.where(Person.synced_at >= job.since)
                people = s.execute(q.order_by(Person.nhs_number)).scalars().all()
                w.write(self.patient(job, p) for p in people)

    def patient(self, job: Job, p: Person) -> dict[str, Any]:
        ethnic: dict[str, Any] = {
            "url": ETHNIC_CATEGORY,
            "valueCodeableConcept": {
                "coding": [
                    {"system": ETHNIC_SYSTEM, "code": ETHNIC_LETTER.get(p.ethnic_group, "Z")}
                ]
            },
        }
        extensions = [ethnic]
        if p.interpreter_required is not None:
            extensions.append(
                {"url": vocab.INTERPRETER_REQUIRED, "valueBoolean": p.interpreter_required}
            )
        detail: list[dict[str, Any]] = []
        if p.small_area and not job.pseudonymise:  # a small area is too near an address
            detail.append({"url": "small-area", "valueString": p.small_area})
        if p.deprivation_decile is not None:
            detail.append({"url": "deprivation-decile", "valueInteger": p.deprivation_decile})
        if p.local_authority_id:
            ref = {"reference": f"Organization/{p.local_authority_id}"}
            detail.append({"url": "local-authority", "valueReference": ref})
        detail.append({"url": "care-home-resident", "valueBoolean": bool(p.care_home_resident)})
        extensions.append({"url": vocab.PERSON_DETAIL, "extension": detail})
        if not job.pseudonymise:
            data = patient_data(p)
            data["extension"] = extensions
            return data
        name = self.subject(job, p.nhs_number)
        data = {
            "resourceType": "Patient",
            "id": name,
            "meta": {"lastUpdated": instant(p.synced_at), "security": [PSEUDONYMISED]},
            "extension": extensions,
            "identifier": [{"system": PSEUDONYM, "value": name}],
            "gender": {"male": "male", "female": "female", "other": "other"}.get(p.sex, "unknown"),
            "birthDate": str(p.date_of_birth.year),
        }
        if p.date_of_death is not None:
            data["deceasedBoolean"] = True
        if p.practice_id:
            data["generalPractitioner"] = [{"reference": f"Organization/{p.practice_id}"}]
        return data

    def organisations(self, w: Writer) -> None:
        with self.sessions() as s:
            orgs = s.execute(select(Organisation).order_by(Organisation.org_id)).scalars().all()
            w.write(organization_data(o) for o in orgs)

    def records(self, job: Job, kind: str, w: Writer) -> None:
        if self.reader is None or not job.nhs_numbers:
            return
        with self.reader.cursor() as cur:
            if cur is None:
                return
            have = {
                r[0]
                for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()
            }
            for src in linked.sources(kind, have):
                sql = linked.select_sql(src) + " WHERE t.nhs_number IN (SELECT unnest($ids))"
                params: dict[str, Any] = {"ids": job.nhs_numbers}
                if job.since is not None:
                    sql += " AND b.loaded_at >= $since"
                    params["since"] = job.since.astimezone(dt.UTC).replace(tzinfo=None)
                result = cur.execute(sql, params)
                names = [d[0] for d in result.description]
                pseudo = job.pseudonymise
                while True:
                    batch = result.fetchmany(BATCH)
                    if not batch:
                        break
                    out = []
                    for values in batch:
                        row = dict(zip(names, values, strict=True))
                        nhs = row["nhs_number"]
                        data = linked.resource(src, row, self.subject(job, nhs) if pseudo else nhs)
                        if pseudo:
                            data["meta"]["security"] = [PSEUDONYMISED]
                        out.append(data)
                    w.write(out)


#: meta.security of a pseudonymised resource (v3 ObservationValue PSEUDED).
PSEUDONYMISED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
