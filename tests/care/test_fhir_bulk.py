"""Bulk Data export (FHIR Bulk Data Access 2.0) of the demo population: Groups, kick-off,
status, NDJSON files, _type and _since, delete; an analyst's export pseudonymised; the
round trip through ``careweave import fhir``; a real FHIR client (fhirpy) on a live server.

Every line of every file is validated with its fhir.resources R4B model."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir_warehouse import KEY, Demo, client
from fhirpy import SyncFHIRClient
from sqlalchemy import select
from test_fhir_linked import TABLES, busiest, fhir, seen_by_gp, wh

from careweave.cli.main import main
from careweave.security import auth
from careweave.security.pseudonyms import pseudonym
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import AuditEntry, User

ASYNC = {"Prefer": "respond-async"}
RECORD_TABLES = (
    "primary_care_events",
    "observations",
    "medications",
    "allergies",
    "hospital_spells",
    "ae_attendances",
    "outpatient_appointments",
    "community_contacts",
    "mental_health_contacts",
    "primary_care_contacts",
    "social_care_services",
    "telehealth_readings",
    "social_care_assessments",
    "care_placements",
    "reablement_episodes",
    "telecare_services",
)


@pytest.fixture(scope="module")
def api(fhir_demo: Demo) -> Iterator[TestClient]:
    with client(fhir_demo) as c:
        yield c


def practice(demo: Demo) -> str:
    return str(wh(demo, "SELECT org_id FROM organisations WHERE org_type = 'gp_practice'")[0][0])


def local(url: str) -> str:
    return url.replace("http://testserver", "")


def kick_off(api: TestClient, demo: Demo, who: str, url: str) -> str:
    r = api.get(url, headers={**demo.h(who), **ASYNC})
    assert r.status_code == 202, r.text
    return local(r.headers["content-location"])


def wait(api: TestClient, demo: Demo, who: str, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        r = api.get(status_url, headers=demo.h(who))
        if r.status_code == 200:
            manifest: dict[str, Any] = r.json()
            return manifest
        assert r.status_code == 202, r.text
        assert "types" in r.headers["x-progress"]
        assert time.monotonic() < deadline, "export did not finish"
        time.sleep(0.2)


def files(api: TestClient, demo: Demo, who: str, manifest: dict[str, Any]) -> dict[str, list[Any]]:
    """Each output file's resources, every line validated as its R4B resource type."""
    out: dict[str, list[Any]] = {}
    for o in manifest["output"]:
        r = api.get(local(o["url"]), headers=demo.h(who))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert len(lines) == o["count"]
        for res in lines:
            assert res["resourceType"] == o["type"]
            get_fhir_model_class(o["type"]).model_validate(res)
        out[o["type"]] = lines
    return out


def export(api: TestClient, demo: Demo, who: str, url: str) -> dict[str, list[Any]]:
    return files(api, demo, who, wait(api, demo, who, kick_off(api, demo, who, url)))


def test_groups_are_the_cohorts(api: TestClient, fhir_demo: Demo) -> None:
    found = fhir(api.get("/fhir/Group", headers=fhir_demo.h("gp.jones")), kind="Bundle")
    ids = {e["resource"]["id"] for e in found["entry"]}
    gp = practice(fhir_demo)
    assert f"practice-{gp}" in ids
    assert any(i.startswith("locality-") and i.endswith("-level-4") for i in ids)
    assert any(i.startswith("caseload-") for i in ids)
    g = fhir(
        api.get(f"/fhir/Group/practice-{gp}", headers=fhir_demo.h("commissioner")), kind="Group"
    )
    assert (
        g["quantity"]
        == wh(fhir_demo, "SELECT count(*) FROM people WHERE practice_id = ?", gp)[0][0]
    )
    assert "member" not in g  # members are exported, never listed
    fhir(api.get("/fhir/Group/practice-NOPE", headers=fhir_demo.h("gp.jones")), 404)
    fhir(api.get("/fhir/Group/anything", headers=fhir_demo.h("gp.jones")), 404)
    fhir(api.get("/fhir/Group?colour=red", headers=fhir_demo.h("gp.jones")), 400)
    fhir(api.get("/fhir/Group", headers=fhir_demo.h("demo.admin")), 403)


def test_kick_off_is_checked(api: TestClient, fhir_demo: Demo) -> None:
    gp = practice(fhir_demo)
    h = fhir_demo.h("gp.jones")
    url = f"/fhir/Group/practice-{gp}/$export"
    assert "respond-async" in fhir(api.get(url, headers=h), 400)["issue"][0]["diagnostics"]
    bad = api.get(url + "?_type=Patient,Spaceship", headers={**h, **ASYNC})
    assert "Spaceship" in fhir(bad, 400)["issue"][0]["diagnostics"]
    fhir(api.get(url + "?_typeFilter=x", headers={**h, **ASYNC}), 400)
    fhir(api.get(url + "?_since=yesterday", headers={**h, **ASYNC}), 400)
    fhir(api.get(url + "?_outputFormat=text/csv", headers={**h, **ASYNC}), 400)
    fhir(api.get("/fhir/Patient/$export", headers={**fhir_demo.h("demo.admin"), **ASYNC}), 403)


def test_group_export_types_since_and_delete(api: TestClient, fhir_demo: Demo) -> None:
    gp = practice(fhir_demo)
    url = f"/fhir/Group/practice-{gp}/$export"
    got = export(api, fhir_demo, "gp.jones", url + "?_type=Patient,Condition")
    assert set(got) == {"Patient", "Condition"}
    people = {
        str(r[0]) for r in wh(fhir_demo, "SELECT nhs_number FROM people WHERE practice_id = ?", gp)
    }
    assert {p["id"] for p in got["Patient"]} == people
    assert len(got["Condition"]) == wh(fhir_demo, "SELECT count(*) FROM primary_care_events")[0][0]
    with session_factory(make_engine(fhir_demo.db))() as s:
        last = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.actor == "gp.jones")
                .order_by(AuditEntry.seq.desc())
            )
            .scalars()
            .first()
        )
    assert last is not None and f"fhir bulk export Group/practice-{gp}" in last.detail
    assert f"people={len(people)}" in last.detail

    # _since after everything was loaded and synced: no people and no records (so no files
    # for them); organisations keep no change time, so they are always exported whole.
    later = export(api, fhir_demo, "gp.jones", url + "?_since=2999-01-01T00:00:00Z")
    assert set(later) == {"Organization"}
    earlier = export(
        api, fhir_demo, "gp.jones", url + "?_type=AllergyIntolerance&_since=2000-01-01T00:00:00Z"
    )
    assert (
        len(earlier["AllergyIntolerance"]) == wh(fhir_demo, "SELECT count(*) FROM allergies")[0][0]
    )

    # Only the owner sees the export; DELETE removes it and its files.
    status = kick_off(api, fhir_demo, "gp.jones", url + "?_type=Organization")
    manifest = wait(api, fhir_demo, "gp.jones", status)
    assert api.get(status, headers=fhir_demo.h("coordinator")).status_code == 404
    file_url = local(manifest["output"][0]["url"])
    assert api.get(file_url, headers=fhir_demo.h("coordinator")).status_code == 404
    assert api.delete(status, headers=fhir_demo.h("gp.jones")).status_code == 202
    fhir(api.get(status, headers=fhir_demo.h("gp.jones")), 404)
    fhir(api.get(file_url, headers=fhir_demo.h("gp.jones")), 404)
    job_dir = api.app.state.careweave_fhir_exports.root / status.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    assert not job_dir.exists()


def test_no_relationship_exports_no_one(api: TestClient, fhir_demo: Demo) -> None:
    gp = practice(fhir_demo)
    got = export(api, fhir_demo, "gp.elsewhere", f"/fhir/Group/practice-{gp}/$export")
    assert set(got) <= {"Organization"}  # organisations only: no person, no record


def test_analyst_export_is_pseudonymised(api: TestClient, fhir_demo: Demo) -> None:
    got = export(api, fhir_demo, "commissioner", "/fhir/Patient/$export")
    people = wh(
        fhir_demo,
        "SELECT nhs_number, given_name, family_name, address_line_1, postcode, telephone "
        "FROM people",
    )
    names = {pseudonym(KEY.encode(), str(p[0])): str(p[0]) for p in people}
    assert {p["id"] for p in got["Patient"]} == set(names)
    for p in got["Patient"]:
        assert not {"name", "address", "telecom"} & set(p)
        assert p["identifier"] == [
            {"system": "https://careweave.org/fhir/Id/pseudonym", "value": p["id"]}
        ]
        assert len(p["birthDate"]) == 4  # the year only
    text = "\n".join(json.dumps(r) for rs in got.values() for r in rs)
    for nhs, *identity in people:
        assert str(nhs) not in text
        for value in identity:
            if value:
                assert f'"{value}"' not in text
    for kind in ("Encounter", "Condition", "Observation", "MedicationRequest"):
        for r in got[kind]:
            assert r["subject"]["reference"].removeprefix("Patient/") in names
            assert r["meta"]["security"][0]["code"] == "PSEUDED"
    with session_factory(make_engine(fhir_demo.db))() as s:
        last = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.actor == "commissioner")
                .order_by(AuditEntry.seq.desc())
            )
            .scalars()
            .first()
        )
    assert last is not None and last.resource == "pseudonymised"


def test_round_trip_through_the_importer(api: TestClient, fhir_demo: Demo, tmp_path: Path) -> None:
    """Patient/$export re-imported with ``careweave import fhir`` gives the same people and
    the same records (ids, dates, codes, values, organisations)."""
    got = export(api, fhir_demo, "gp.jones", "/fhir/Patient/$export")
    out = tmp_path / "export"
    out.mkdir()
    for kind, resources in got.items():
        (out / f"{kind}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    again = tmp_path / "reimported"
    assert main(["import", "fhir", str(out), "--out", str(again)]) == 0
    before = fhir_demo.dataset
    # Every column of every table, but the registration start (the people index keeps none).
    same = dict.fromkeys(("people", "organisations", *RECORD_TABLES), ("*",))
    with duckdb.connect() as con:
        for table, columns in same.items():
            key = (
                "nhs_number"
                if table == "people"
                else "org_id"
                if table == "organisations"
                else "id"
            )
            a, b = f"'{before}/{table}.parquet'", f"'{again}/{table}.parquet'"
            only = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {a} EXCEPT SELECT {key} FROM {b})"
                f" UNION ALL SELECT count(*) FROM (SELECT {key} FROM {b} EXCEPT SELECT {key} FROM {a})"
            ).fetchall()
            assert only == [(0,), (0,)], f"{table}: different rows"
            if columns == ("*",):
                described = con.execute(f"DESCRIBE SELECT * FROM {b}").fetchall()
                skip = (key, "_batch_id", "registered_from")
                columns = tuple(c[0] for c in described if c[0] not in skip)
            for col in columns:
                (n,) = con.execute(
                    f"SELECT count(*) FROM {a} x JOIN {b} y USING ({key}) "
                    f"WHERE x.{col} IS DISTINCT FROM y.{col}"
                ).fetchone() or (0,)
                assert n == 0, f"{table}.{col}: {n} rows differ after the round trip"


def test_fhirpy_reads_the_linked_record_with_paging(fhir_demo: Demo) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
    from live_server import live_server

    nhs = busiest(fhir_demo)
    with live_server(fhir_demo.app()) as url:
        c = SyncFHIRClient(f"{url}/fhir", authorization=f"Bearer {fhir_demo.tokens['gp.jones']}")
        for kind in ("Encounter", "Observation", "MedicationRequest"):
            tables = TABLES[kind]
            nhs = str(
                wh(
                    fhir_demo,
                    f"SELECT nhs_number FROM {tables[0]} GROUP BY 1 ORDER BY count(*) DESC",
                )[0][0]
            )
            found = c.resources(kind).search(patient=f"Patient/{nhs}").limit(5).fetch_all()
            want = sum(
                wh(fhir_demo, f"SELECT count(*) FROM {t} WHERE nhs_number = ?", nhs)[0][0]
                for t in tables
            )
            assert len(found) == want > 5  # more than one page, every page followed
            assert len({r.id for r in found}) == want
            for r in found:
                get_fhir_model_class(kind).model_validate(r.serialize())
        # A setting's contacts (Encounter.type) and telehealth readings (category).
        for table, kind, params in (
            ("mental_health_contacts", "Encounter", {"type": "mental-health"}),
            ("primary_care_contacts", "Encounter", {"type": "primary-care"}),
            ("telehealth_readings", "Observation", {"category": "vital-signs"}),
        ):
            who = seen_by_gp(fhir_demo, table)
            got = c.resources(kind).search(patient=who, **params).limit(3).fetch_all()
            (n,) = wh(fhir_demo, f"SELECT count(*) FROM {table} WHERE nhs_number = ?", who)[0]
            assert len(got) == n > 0
            assert all(
                r.get_by_path(["meta", "profile", 0]).endswith(f"UKCore-{kind}") for r in got
            )
        first = c.resources("Encounter").search(patient=nhs).first()
        assert first is not None
        again = c.reference("Encounter", first.id).to_resource()
        assert again.serialize() == first.serialize()
        group = c.resources("Group").fetch_all()
        assert group and all(g["type"] == "person" for g in group)


def test_capability_statement_declares_bulk_data(api: TestClient) -> None:
    cs = fhir(api.get("/fhir/metadata"), kind="CapabilityStatement")
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in cs["instantiates"]
    served = {r["type"]: r for r in cs["rest"][0]["resource"]}
    for kind, op in (("Group", "group-export"), ("Patient", "patient-export")):
        assert served[kind]["operation"] == [
            {
                "name": "export",
                "definition": f"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/{op}",
            }
        ]
    assert {i["code"] for i in served["Group"]["interaction"]} == {"read", "search-type"}


def test_a_scoped_token_exports_only_its_types(api: TestClient, fhir_demo: Demo) -> None:
    with transaction(session_factory(make_engine(fhir_demo.db))) as s:
        user = s.execute(select(User).where(User.username == "gp.jones")).scalar_one()
        scoped = auth.issue_token(
            s,
            user,
            "scoped",
            dt.datetime.now(dt.UTC),
            fhir_scopes=["user/Patient.read", "user/Group.read"],
        )
    demo = Demo(
        fhir_demo.dataset, fhir_demo.warehouse, fhir_demo.db, fhir_demo.tmp, {"scoped": scoped}
    )
    url = f"/fhir/Group/practice-{practice(fhir_demo)}/$export"
    assert set(export(api, demo, "scoped", url)) == {"Patient"}
    r = api.get(url + "?_type=Patient,Condition", headers={**demo.h("scoped"), **ASYNC})
    assert "Condition.read" in fhir(r, 403)["issue"][0]["diagnostics"]
