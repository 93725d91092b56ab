"""Unmet need: declines for unmet need, waits past the response standard and waits at a
service at capacity, by service, locality and need; suppression; the staff's notes
de-identified and held back below the threshold; ``careweave unmet-need``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from careweave.capacity import norms, unmet
from careweave.care.config import load as load_care
from careweave.care.referrals import seed_services
from careweave.cli.main import main
from careweave.store.models import Referral

from .store_fixtures import NOW, orgs, people, store

DN, FALLS, XRAY = "district-nursing", "falls-service", "community-xray"


def ref(
    s: Session,
    nhs: str,
    service: str,
    status: str,
    *,
    days_ago: float = 10,
    hours: float = 72,
    reason: str | None = None,
    note: str | None = None,
    responded_days_ago: float | None = None,
) -> None:
    received = NOW - dt.timedelta(days=days_ago)
    s.add(
        Referral(
            nhs_number=nhs,
            service_id=service,
            urgency="routine",
            reason="x",
            status=status,
            received_at=received,
            respond_by=received + dt.timedelta(hours=hours),
            responded_at=None
            if responded_days_ago is None
            else NOW - dt.timedelta(days=responded_days_ago),
            decline_reason=reason,
            unmet_need_note=note,
            history=[],
            source="test",
            version=1,
        )
    )


def build(s: Session) -> None:
    orgs(s)
    seed_services(s, load_care(), NOW)
    north4 = people(s, "P-N1", 4, 12, given_name="Gwen", family_name="Pryce")
    south2 = people(s, "P-S1", 2, 3)
    # district nursing declined nine North level-4 referrals for no capacity, with notes
    for i, nhs in enumerate(north4[:9]):
        note = "Evening insulin visits, none free after 6pm"
        if i == 0:
            note = "Gwen Pryce (NHS 943 476 5919, tel 01234 567890, SA1 1AA) needs evening visits"
        if i == 1:
            note = "Mrs Jones next door asked too; email a.b@example.org"
        ref(s, nhs, DN, "declined", reason="no_capacity", note=note, responded_days_ago=5)
    # not unmet need: the person declined; too old: received two years ago
    ref(s, north4[9], DN, "declined", reason="person_declined", note="Did not want it")
    ref(s, north4[10], DN, "declined", days_ago=730, reason="no_capacity", note="old")
    # falls: two waiting past their 72 h standard (South, level 2), one waiting within it
    ref(s, south2[0], FALLS, "received", days_ago=10)
    ref(s, south2[1], FALLS, "triaged", days_ago=4)
    ref(s, south2[2], FALLS, "received", days_ago=1)
    # two accepted at falls: at its capacity of 2 when the norms say so
    ref(s, north4[11], FALLS, "accepted", days_ago=20, responded_days_ago=19)
    ref(s, north4[11], FALLS, "scheduled", days_ago=20, responded_days_ago=19)
    # one waiting within its standard at district nursing, at capacity by its recent declines
    ref(s, north4[11], DN, "received", days_ago=1)
    # X-ray declined twice out of area, with notes: fewer than 8, so held back
    ref(s, north4[11], XRAY, "declined", reason="out_of_area", note="Nearest X-ray 40 miles")
    ref(s, north4[10], XRAY, "declined", reason="out_of_area", note="No X-ray in the valley")
    s.commit()


def counts(result: unmet.UnmetNeed) -> dict[tuple[str, str, int, str, str | None], int | None]:
    return {
        (r.service_id, r.locality, r.level, r.kind, r.reason): r.count.value for r in result.rows
    }


def test_unmet_need_by_service_locality_and_need(tmp_path: Path, db_url: str) -> None:
    with store(tmp_path, db_url) as (_, s):
        build(s)
        result = unmet.compute(s, norms.load(), NOW)
    assert result.since == dt.date(2025, 12, 1)
    # 9 declines shown as 10 (rounded to 5); 2 and 1 are suppressed (None), never shown
    assert counts(result) == {
        (XRAY, "LOC-N", 4, "declined", "out_of_area"): None,
        (DN, "LOC-N", 4, "declined", "no_capacity"): 10,
        (DN, "LOC-N", 4, "waiting_at_capacity", None): None,
        (FALLS, "LOC-S", 2, "waiting_past_standard", None): None,
    }
    assert result.total("kind", "declined").value == 10  # 11 true, rounded once
    assert result.total("all").value == 15  # 14 true
    assert result.services[DN].at_capacity  # declined for no capacity in the last 28 days
    assert result.services[DN].recent_no_capacity == 9
    assert not result.services[FALLS].at_capacity  # no capacity given: the third waits
    assert result.localities == {"LOC-N": "North", "LOC-S": "South"}


def test_a_service_at_its_configured_capacity(tmp_path: Path) -> None:
    text = norms.SHIPPED.read_text(encoding="utf-8").replace(
        "capacity = {}", f'capacity = {{ "{FALLS}" = 2 }}'
    )
    f = tmp_path / "norms.toml"
    f.write_text(text, encoding="utf-8")
    with store(tmp_path) as (_, s):
        build(s)
        result = unmet.compute(s, norms.load(f), NOW)
    assert result.services[FALLS].at_capacity and result.services[FALLS].on_books == 2
    assert counts(result)[(FALLS, "LOC-S", 2, "waiting_at_capacity", None)] is None  # 1 true
    assert result.totals[("kind", "waiting_at_capacity")] == 2


def test_notes_are_shown_de_identified_and_only_from_eight(tmp_path: Path) -> None:
    with store(tmp_path) as (_, s):
        build(s)
        result = unmet.compute(s, norms.load(), NOW)
    shown = result.reasons[DN]
    assert len(shown) == 9
    assert shown == sorted(shown)  # not in the order written
    joined = " ".join(shown)
    for secret in ("Gwen", "Pryce", "943", "5919", "01234", "SA1", "Jones", "a.b@example.org"):
        assert secret not in joined
    assert "[removed] (NHS [removed], tel [removed], [removed]) needs evening visits" in joined
    assert "Did not want it" not in joined and "old" not in shown  # not unmet need / too old
    assert XRAY not in result.reasons and result.held_back == {XRAY: 2}


def test_scrub() -> None:
    assert unmet.scrub("Dr Price said 9434765919", ["Gwen", "Price"]) == "[removed] said [removed]"
    assert unmet.scrub("needs a ramp at SA99 9ZZ", []) == "needs a ramp at [removed]"
    assert unmet.scrub("Night sitting", ["Night"]) == "[removed] sitting"
    assert unmet.scrub("2 visits a day", []) == "2 visits a day"


def test_cli_unmet_need(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store(tmp_path) as (url, s):
        build(s)
    assert main(["unmet-need", "--db", url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["threshold"] == 8
    assert {r["count"] for r in doc["rows"]} == {None, 10}
    assert doc["reasons_held_back"] == {XRAY: 2}
    assert "Gwen" not in json.dumps(doc)
    assert main(["unmet-need", "--db", url]) == 0
    text = capsys.readouterr().out
    assert (
        "District nursing | North | level 4 | Declined: unmet need (no capacity in the service): 10"
        in text
    )
    assert "Waiting past the response standard: <8" in text
