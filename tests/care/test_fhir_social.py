"""Local-authority social care over FHIR: assessments as Observation, care-home placements,
reablement episodes and telecare services as EpisodeOfCare beside the case-management
register, read and searched for one person with the Patient read's relationship check and
audit (a user with no relationship gets nothing), through the test client and a real FHIR
client (fhirpy); every body validated with fhir.resources R4B."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir_warehouse import Demo, client
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from sqlalchemy import select
from test_fhir_linked import audits, every_page, fhir, seen_by_gp, wh

from careweave.store.db import make_engine, session_factory
from careweave.store.models import Episode

CODES = "https://careweave.org/fhir/CodeSystem/"
DETAIL = "https://careweave.org/fhir/StructureDefinition/episode-detail"
#: warehouse table -> its episode-type code
EPISODES = {
    "care_placements": "care-placement",
    "reablement_episodes": "reablement",
    "telecare_services": "telecare",
}


@pytest.fixture(scope="module")
def api(fhir_demo: Demo) -> Iterator[TestClient]:
    with client(fhir_demo) as c:
        yield c


def detail(resource: dict[str, Any]) -> dict[str, Any]:
    """The episode-detail extension's values by name (references as their reference)."""
    found = [x for x in resource.get("extension", []) if x["url"] == DETAIL]
    out: dict[str, Any] = {}
    for part in found[0]["extension"] if found else []:
        value = next(v for k, v in part.items() if k.startswith("value"))
        out[part["url"]] = value["reference"] if isinstance(value, dict) else value
    return out


def register_episodes(demo: Demo, nhs: str) -> list[int]:
    with session_factory(make_engine(demo.db))() as s:
        return list(
            s.execute(
                select(Episode.id).where(Episode.nhs_number == nhs).order_by(Episode.id)
            ).scalars()
        )


def test_assessments_are_observations(api: TestClient, fhir_demo: Demo) -> None:
    nhs = seen_by_gp(fhir_demo, "social_care_assessments")
    want = {
        str(r[0]): r
        for r in wh(
            fhir_demo,
            "SELECT id, assessment_date, assessment_type, outcome, local_authority_id "
            "FROM social_care_assessments WHERE nhs_number = ?",
            nhs,
        )
    }
    url = f"/fhir/Observation?patient={nhs}&category=social-care-assessment&_count=1"
    found = every_page(api, fhir_demo, "gp.jones", url)
    assert sorted(o["id"] for o in found) == sorted(want)
    for o in found:
        _, day, kind, outcome, la = want[o["id"]]
        assert o["meta"]["profile"] == [
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"
        ]
        assert o["category"][0]["coding"][0]["code"] == "social-care-assessment"
        assert o["code"]["coding"][0]["system"] == CODES + "social-care-assessment"
        assert o["code"]["coding"][0]["code"] == kind
        assert o["valueCodeableConcept"]["coding"][0] == {
            "system": CODES + "social-care-outcome",
            "code": outcome,
            "display": o["valueCodeableConcept"]["coding"][0]["display"],
        }
        assert o["effectiveDateTime"] == day.isoformat()
        assert o["performer"] == [{"reference": f"Organization/{la}"}]
        assert o["subject"] == {"reference": f"Patient/{nhs}"}
    # code= by the Careweave system, or bare; another system matches nothing.
    kind = found[0]["code"]["coding"][0]["code"]
    same = {r[0] for r in want.values() if r[2] == kind}
    for code in (f"{CODES}social-care-assessment|{kind}", kind):
        got = every_page(api, fhir_demo, "gp.jones", f"/fhir/Observation?patient={nhs}&code={code}")
        assert {o["id"] for o in got} == same
    none = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/Observation?patient={nhs}&code=urn:x|{kind}"
    )
    assert none == []
    # The person's other Observations are still there beside them, and a read is the same.
    everything = every_page(api, fhir_demo, "gp.jones", f"/fhir/Observation?patient={nhs}")
    assert set(want) < {o["id"] for o in everything}
    one = fhir(api.get(f"/fhir/Observation/{found[0]['id']}", headers=fhir_demo.h("gp.jones")))
    assert one == found[0]
    last = audits(fhir_demo, "gp.jones")[-1]
    assert last.nhs_number == nhs and last.action == "read" and "basis=" in last.detail


@pytest.mark.parametrize("table", list(EPISODES))
def test_social_care_episodes_are_episodes_of_care(
    api: TestClient, fhir_demo: Demo, table: str
) -> None:
    """Placements, reablement and telecare: the episode type (and its kind), the period,
    the status, the managing organisation and the episode-detail values, found by type."""
    code = EPISODES[table]
    nhs = seen_by_gp(fhir_demo, table)
    want = {str(r[0]): r for r in wh(fhir_demo, f"SELECT * FROM {table} WHERE nhs_number = ?", nhs)}
    url = f"/fhir/EpisodeOfCare?patient={nhs}&type={code}&_count=1"
    found = every_page(api, fhir_demo, "gp.jones", url)
    assert sorted(e["id"] for e in found) == sorted(want)
    for e in found:
        row = want[e["id"]]
        assert e["meta"]["profile"] == [
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-EpisodeOfCare"
        ]
        assert e["type"][0]["coding"][0]["system"] == CODES + "episode-type"
        assert e["type"][0]["coding"][0]["code"] == code
        assert e["patient"] == {"reference": f"Patient/{nhs}"}
        assert e["meta"]["lastUpdated"].endswith("Z")
        if table == "care_placements":
            _, _, la, home, kind, permanent, start, end, cost = row
            assert e["type"][1]["coding"][0] == {
                "system": CODES + "placement-type",
                "code": kind,
                "display": {"residential": "Residential care", "nursing": "Nursing care"}[kind],
            }
            assert e["managingOrganization"] == {"reference": f"Organization/{home}"}
            d = detail(e)
            assert d["local_authority"] == f"Organization/{la}"
            assert d["permanent"] is permanent
            assert d.get("weekly_cost") == cost
        elif table == "reablement_episodes":
            _, _, la, spell, start, end, at_home = row
            assert e["managingOrganization"] == {"reference": f"Organization/{la}"}
            d = detail(e)
            assert d.get("spell_id") == (f"Encounter/{spell}" if spell else None)
            assert d.get("at_home_91d") == at_home
            if spell:  # the spell it followed is the person's Encounter
                fhir(api.get(f"/fhir/{d['spell_id']}", headers=fhir_demo.h("gp.jones")))
        else:
            _, _, start, end, kind, provider = row
            assert e["type"][1]["coding"][0]["system"] == CODES + "telecare-service"
            assert e["type"][1]["coding"][0]["code"] == kind
            assert e.get("managingOrganization") == (
                {"reference": f"Organization/{provider}"} if provider else None
            )
        assert e["period"]["start"] == start.isoformat()
        assert e["period"].get("end") == (end.isoformat() if end else None)
        assert e["status"] == ("active" if end is None else "finished")  # ends are past
        one = fhir(api.get(f"/fhir/EpisodeOfCare/{e['id']}", headers=fhir_demo.h("gp.jones")))
        assert one == e
    # status and date search both sources with the same meaning.
    h = fhir_demo.h("gp.jones")
    for status in ("active", "finished"):
        got = every_page(
            api,
            fhir_demo,
            "gp.jones",
            f"/fhir/EpisodeOfCare?patient={nhs}&type={code}&status={status}",
        )
        assert {e["id"] for e in got} == {e["id"] for e in found if e["status"] == status}
    start = min(e["period"]["start"] for e in found)
    later = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/EpisodeOfCare?patient={nhs}&type={code}&date=gt{start}"
    )
    assert {e["id"] for e in later} == {e["id"] for e in found if e["period"]["start"] > start}
    # care-manager is the register's only: no social-care episode has one.
    assert "entry" not in fhir(
        api.get(f"/fhir/EpisodeOfCare?patient={nhs}&type={code}&care-manager=1", headers=h)
    )
    if table == "care_placements":  # the kind of placement is a type too
        kind = found[0]["type"][1]["coding"][0]["code"]
        same = every_page(
            api, fhir_demo, "gp.jones", f"/fhir/EpisodeOfCare?patient={nhs}&type={kind}"
        )
        assert {e["id"] for e in same} == {
            e["id"] for e in found if e["type"][1]["coding"][0]["code"] == kind
        }


def test_register_and_social_care_episodes_page_together(api: TestClient, fhir_demo: Demo) -> None:
    """A person on the case-management register with social-care episodes: their register
    episodes first, then the warehouse's, across pages; type picks one or the other, and a
    search across people is the register's."""
    tables = " UNION ALL ".join(f"SELECT nhs_number, id FROM {t}" for t in EPISODES)
    social: dict[str, set[str]] = {}
    for nhs, rid in wh(fhir_demo, tables):
        social.setdefault(str(nhs), set()).add(str(rid))
    both = [n for n in sorted(social) if register_episodes(fhir_demo, n)]
    assert both, "no one on the demo register has a social-care episode"
    nhs = both[0]
    register = [str(i) for i in register_episodes(fhir_demo, nhs)]
    for count in (1, 2, 50):
        found = every_page(
            api, fhir_demo, "gp.jones", f"/fhir/EpisodeOfCare?patient={nhs}&_count={count}"
        )
        ids = [e["id"] for e in found]
        assert ids[: len(register)] == register
        assert set(ids[len(register) :]) == social[nhs] and len(ids) == len(set(ids))
    only_register = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/EpisodeOfCare?patient={nhs}&type=case-management"
    )
    assert [e["id"] for e in only_register] == register
    assert only_register[0]["careManager"]["reference"].startswith("Practitioner/")
    codes = ",".join(EPISODES.values())
    only_social = every_page(
        api, fhir_demo, "gp.jones", f"/fhir/EpisodeOfCare?patient={nhs}&type={codes}"
    )
    assert {e["id"] for e in only_social} == social[nhs]
    # _include of the patient, once.
    page = fhir(
        api.get(
            f"/fhir/EpisodeOfCare?patient={nhs}&_include=EpisodeOfCare:patient",
            headers=fhir_demo.h("gp.jones"),
        )
    )
    included = [e for e in page["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in included] == [nhs]
    # Across people: the register's (social-care episodes need a patient).
    h = fhir_demo.h("gp.jones")
    across = every_page(api, fhir_demo, "gp.jones", "/fhir/EpisodeOfCare?_count=50")
    assert across and all(e["id"].isdigit() for e in across)
    need = fhir(api.get("/fhir/EpisodeOfCare?type=reablement", headers=h), 400)
    assert "patient: required" in need["issue"][0]["diagnostics"]
    fhir(api.get(f"/fhir/EpisodeOfCare?patient={nhs}&status=planned", headers=h), 400)
    fhir(api.get("/fhir/EpisodeOfCare/REA_NOSUCH", headers=h), 404)
    fhir(api.get("/fhir/EpisodeOfCare/99999", headers=h), 404)


def test_no_relationship_no_social_care(api: TestClient, fhir_demo: Demo) -> None:
    """gp.elsewhere (another practice) and the analyst get none of it, by search or read;
    each refusal is audited."""
    for table, kind in (
        ("social_care_assessments", "Observation"),
        *((t, "EpisodeOfCare") for t in EPISODES),
    ):
        nhs, rid = wh(fhir_demo, f"SELECT nhs_number, id FROM {table} LIMIT 1")[0]
        for who in ("gp.elsewhere", "commissioner"):
            fhir(api.get(f"/fhir/{kind}?patient={nhs}", headers=fhir_demo.h(who)), 403)
            assert audits(fhir_demo, who)[-1].action == "refused"
            fhir(api.get(f"/fhir/{kind}/{rid}", headers=fhir_demo.h(who)), 403)
            assert audits(fhir_demo, who)[-1].action == "refused"


def test_capability_statement_lists_social_care(api: TestClient) -> None:
    cs = fhir(api.get("/fhir/metadata"), kind="CapabilityStatement")
    served = {r["type"]: r for r in cs["rest"][0]["resource"]}
    episode = {p["name"]: p["type"] for p in served["EpisodeOfCare"]["searchParam"]}
    assert episode | {"type": "token", "status": "token", "date": "date"} == episode
    assert episode["care-manager"] == "reference" and episode["_lastUpdated"] == "date"
    assert served["EpisodeOfCare"]["profile"].endswith("UKCore-EpisodeOfCare")
    assert {p["name"] for p in served["Observation"]["searchParam"]} >= {"category", "code"}


def test_fhirpy_reads_social_care(fhir_demo: Demo) -> None:
    """A real FHIR client on a live server: the person's social-care episodes page by page
    and read back; their assessments by category; another practice's GP is refused."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
    from live_server import live_server

    with live_server(fhir_demo.app()) as url:
        c = SyncFHIRClient(f"{url}/fhir", authorization=f"Bearer {fhir_demo.tokens['gp.jones']}")
        for table, code in EPISODES.items():
            nhs = seen_by_gp(fhir_demo, table)
            (n,) = wh(fhir_demo, f"SELECT count(*) FROM {table} WHERE nhs_number = ?", nhs)[0]
            got = c.resources("EpisodeOfCare").search(patient=nhs, type=code).limit(1).fetch_all()
            assert len(got) == n > 0
            for r in got:
                get_fhir_model_class("EpisodeOfCare").model_validate(r.serialize())
            again = c.reference("EpisodeOfCare", got[0].id).to_resource()
            assert again.serialize() == got[0].serialize()
        nhs = seen_by_gp(fhir_demo, "social_care_assessments")
        (n,) = wh(
            fhir_demo, "SELECT count(*) FROM social_care_assessments WHERE nhs_number = ?", nhs
        )[0]
        found = (
            c.resources("Observation")
            .search(patient=nhs, category="social-care-assessment")
            .limit(2)
            .fetch_all()
        )
        assert len(found) == n > 0
        for r in found:
            get_fhir_model_class("Observation").model_validate(r.serialize())
        outsider = SyncFHIRClient(
            f"{url}/fhir", authorization=f"Bearer {fhir_demo.tokens['gp.elsewhere']}"
        )
        with pytest.raises(ForbiddenError):
            outsider.resources("EpisodeOfCare").search(patient=nhs).fetch_all()
        with pytest.raises(ForbiddenError):
            outsider.reference("Observation", found[0].id).to_resource()
