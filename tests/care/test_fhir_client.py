"""A real FHIR client (fhirpy) against the FHIR endpoint served by uvicorn on loopback:
search with paging, read, conditional update with If-Match and 412 on a stale version."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from care_world import (
    ELSEWHERE,
    MR_JONES,
    MRS_JONES,
    NEIGHBOUR,
    Clock,
    World,
    build_world,
    join_teams,
)
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.patient import Patient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, MultipleResourcesFound
from test_fhir_api import PLAN

from careweave.devtools import free_port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, str]]:
    w = build_world(f"sqlite:///{tmp_path / 'store.db'}", Clock())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(w.client.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    try:
        yield w, f"http://127.0.0.1:{port}/fhir"
    finally:
        server.should_exit = True
        thread.join(10)
        w.client.close()


def test_fhirpy_search_read_and_versioned_update(served: tuple[World, str]) -> None:
    w, url = served
    join_teams(w, (MRS_JONES,))
    r = w.put("cc", f"/people/{MRS_JONES}/care-plan", {"base_version": None, "content": PLAN})
    assert r.status_code == 200, r.text
    client = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['dr_gp']}")

    # Search with paging: two a page, fhirpy follows the next links.
    people = client.resources("Patient").limit(2).fetch_all()
    assert sorted(p.id for p in people) == sorted([MRS_JONES, MR_JONES, NEIGHBOUR])
    for p in people:
        Patient.model_validate(p.serialize())
    first_page = client.resources("Patient").limit(2).fetch_raw()
    Bundle.model_validate(dict(first_page))
    assert any(link["relation"] == "next" for link in first_page["link"])
    found = client.resources("Patient").search(identifier=MRS_JONES).first()
    assert found is not None and found["birthDate"] == "1941-05-01"

    # Read.
    patient = client.reference("Patient", MRS_JONES).to_resource()
    assert patient["identifier"][0]["system"] == "https://fhir.nhs.uk/Id/nhs-number"
    plan = client.resources("CarePlan").search(patient=f"Patient/{MRS_JONES}").first()
    assert plan is not None
    CarePlan.model_validate(plan.serialize())

    # Conditional update with If-Match: the current version succeeds, a stale one is 412.
    versioned = SyncFHIRClient(
        url,
        authorization=f"Bearer {w.tokens['cc']}",
        extra_headers={"If-Match": f'W/"{plan["meta"]["versionId"]}"'},
    )
    mine = versioned.resource("CarePlan", **plan.serialize())
    mine["activity"][0]["detail"]["status"] = "in-progress"
    mine.save()
    assert mine["meta"]["versionId"] == "2"
    stale = versioned.resource("CarePlan", **plan.serialize())
    stale["activity"][0]["detail"]["status"] = "completed"
    with pytest.raises(
        MultipleResourcesFound, match="at version 2, not 1"
    ):  # fhirpy's name for 412
        stale.save()
    assert client.reference("CarePlan", plan.id).to_resource()["meta"]["versionId"] == "2"

    # The same client as someone with no relationship: 403 OperationOutcome.
    outsider = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['outsider']}")
    with pytest.raises(ForbiddenError, match="no legitimate relationship"):
        outsider.reference("Patient", MRS_JONES).to_resource()
    # Their list leaves out the Joneses and shows only their own practice's patient.
    assert [p.id for p in outsider.resources("Patient").fetch_all()] == [ELSEWHERE]


def test_fhirpy_create_and_transaction(served: tuple[World, str]) -> None:
    from test_fhir_writes import bundle, reading, referral

    w, url = served
    join_teams(w, (MRS_JONES,))
    client = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['cc']}")
    made = client.resource("ServiceRequest", **referral())
    made.save()
    assert made.id is not None and made["status"] == "active"
    found = client.resources("ServiceRequest").search(patient=MRS_JONES).fetch_all()
    assert [r.id for r in found] == [made.id]
    out = client.execute("", method="post", data=bundle(reading(w.clock.now, 6.0), referral()))
    Bundle.model_validate(dict(out))
    assert out["type"] == "transaction-response" and len(out["entry"]) == 2
    assert len(client.resources("ServiceRequest").search(patient=MRS_JONES).fetch_all()) == 2
