"""urn:uuid references between the entries of a transaction Bundle: resolved to the created
ids whatever the entries' order, each answer entry with its response.location, and still
all or nothing (the failing entry named)."""

from __future__ import annotations

import uuid
from typing import Any

from care_world import ELSEWHERE, MR_JONES, MRS_JONES, World, join_teams
from fhir.resources.R4B.bundle import Bundle
from fhirpy import SyncFHIRClient
from sqlalchemy import func, select
from test_fhir_alerts import alert
from test_fhir_api import fhir, outcome
from test_fhir_client import served  # noqa: F401  (the uvicorn server fixture)
from test_fhir_writes import counts, post, reading, referral

from careweave.store.models import Notification


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        e["fullUrl"] = full_url
    return e


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def supported(*refs: str, nhs: str = MRS_JONES) -> dict[str, Any]:
    return {**referral(nhs), "supportingInfo": [{"reference": r} for r in refs]}


def state(w: World) -> tuple[int, int, int, int]:
    with w.session() as s:
        flags = s.execute(
            select(func.count()).select_from(Notification).where(Notification.kind.like("alert:%"))
        ).scalar_one()
    return (*counts(w), flags)


def test_fhirpy_transaction_resolves_urn_uuid_references(
    served: tuple[World, str],  # noqa: F811
) -> None:
    w, url = served
    join_teams(w, (MRS_JONES,))
    client = SyncFHIRClient(url, authorization=f"Bearer {w.tokens['cc']}")
    high, low = urn(), urn()
    # The referral comes first and points at two readings made later in the same Bundle.
    sent = transaction(
        entry(supported(high, low)),
        entry(reading(w.clock.now, 16.3), high),
        entry(reading(w.clock.now, 3.1), low),
        entry(alert(text="Hypo last night: check the glucose meter")),
    )
    out = client.execute("", method="post", data=sent)
    Bundle.model_validate(dict(out))
    assert out["type"] == "transaction-response"
    kinds = [e["resource"]["resourceType"] for e in out["entry"]]
    assert kinds == ["ServiceRequest", "Observation", "Observation", "Flag"]  # request order
    sr, obs_high, obs_low, flag = (e["resource"] for e in out["entry"])
    assert [s["reference"] for s in sr["supportingInfo"]] == [
        f"Observation/{obs_high['id']}",
        f"Observation/{obs_low['id']}",
    ]
    locations = [e["response"]["location"] for e in out["entry"]]
    assert locations == [
        f"ServiceRequest/{sr['id']}/_history/1",
        f"Observation/{obs_high['id']}",
        f"Observation/{obs_low['id']}",
        f"Flag/{flag['id']}",
    ]
    assert out["entry"][0]["response"]["etag"] == 'W/"1"'
    assert all(e["response"]["status"] == "201 Created" for e in out["entry"])
    # Kept: the referral read back carries its supporting readings.
    back = client.reference("ServiceRequest", sr["id"]).to_resource()
    assert back.serialize()["supportingInfo"] == sr["supportingInfo"]
    assert client.reference("Flag", flag["id"]).to_resource()["id"] == flag["id"]


def test_a_failing_entry_rolls_back_every_entry_and_is_named(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES, MR_JONES))
    first = urn()
    before = state(w)
    for broken, status, words in (
        # The third entry's Flag is about someone the caller has no relationship with.
        (
            transaction(
                entry(reading(w.clock.now, 6.0), first),
                entry(supported(first)),
                entry(alert(nhs=ELSEWHERE)),
            ),
            403,
            "Bundle.entry[2]",
        ),
        # The referral points at a reading of another person (created in the Bundle).
        (
            transaction(
                entry(reading(w.clock.now, 6.0, nhs=MR_JONES), first),
                entry(alert()),
                entry(supported(first)),
            ),
            422,
            "Bundle.entry[2].resource.supportingInfo[0]",
        ),
        (
            transaction(entry(reading(w.clock.now, 6.0)), entry(supported(urn()))),
            400,
            "is not the fullUrl of an entry",
        ),
        (
            transaction(entry(reading(w.clock.now, 6.0), first), entry(alert(), first)),
            400,
            "Bundle.entry[1].fullUrl",
        ),
        (
            transaction(entry(reading(w.clock.now, 6.0), "urn:uuid:nope"), entry(alert())),
            400,
            "is not a urn:uuid",
        ),
    ):
        assert words in outcome(post(w, "cc", "/fhir", broken), status)
        assert state(w) == before  # no event, referral, notification or alert stored


def test_references_in_a_circle_are_refused(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    a, b = urn(), urn()
    before = state(w)
    text = outcome(
        post(w, "cc", "/fhir", transaction(entry(supported(b), a), entry(supported(a), b))), 400
    )
    assert "Bundle.entry[0].resource" in text and "circle" in text
    assert "own fullUrl" in outcome(
        post(w, "cc", "/fhir", transaction(entry(supported(a), a))), 400
    )
    assert state(w) == before


def test_supporting_info_outside_a_transaction(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    obs = fhir(post(w, "cc", "/fhir/Observation", reading(w.clock.now, 6.0)), 201, "Observation")
    made = fhir(
        post(w, "cc", "/fhir/ServiceRequest", supported(f"Observation/{obs['id']}")),
        201,
        "ServiceRequest",
    )
    assert made["supportingInfo"] == [{"reference": f"Observation/{obs['id']}"}]
    text = outcome(
        post(w, "cc", "/fhir/ServiceRequest", supported("Observation/telehealth-999")), 422
    )
    assert "ServiceRequest.supportingInfo[0]" in text and "not a telehealth reading" in text
