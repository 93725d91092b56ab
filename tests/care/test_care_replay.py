"""careweave.care.replay: event lines checked by the care core's own rules (the same
constraints as the POST /events body, without the API's schema), replayed in the caller's
transaction, stopping at the first bad line with FILE:LINE: field: problem."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from care_world import MRS_JONES, World, join_teams
from pydantic import ValidationError
from sqlalchemy import func, select

from careweave.api.schemas import EventIn
from careweave.care import config
from careweave.care.context import Ctx, system_user
from careweave.care.replay import EventLine, parse_event, replay
from careweave.errors import InputError
from careweave.security.errors import Invalid
from careweave.store.models import Event

GOOD: dict[str, Any] = {
    "nhs_number": MRS_JONES,
    "type": "admission",
    "occurred_at": "2026-11-01T10:00:00Z",
}

ACCEPTED = [
    GOOD,
    {**GOOD, "external_id": "a1", "payload": {"ward": "7"}},
    {**GOOD, "external_id": None, "payload": {}},
    {**GOOD, "external_id": "x" * 128, "payload": {f"k{i}": i for i in range(50)}},
    {**GOOD, "occurred_at": "2026-11-01T10:00:00+01:00"},
]

REFUSED = [
    ([GOOD], "expected a JSON object"),
    ({**GOOD, "colour": "red"}, "colour: not a field of an event"),
    ({k: v for k, v in GOOD.items() if k != "nhs_number"}, "nhs_number: missing"),
    ({k: v for k, v in GOOD.items() if k != "type"}, "type: missing"),
    ({k: v for k, v in GOOD.items() if k != "occurred_at"}, "occurred_at: missing"),
    ({**GOOD, "nhs_number": "1"}, "nhs_number: expected 10 digits"),
    ({**GOOD, "nhs_number": 9434765919}, "nhs_number: expected text"),
    ({**GOOD, "occurred_at": "yesterday"}, "occurred_at: 'yesterday' is not an ISO 8601 time"),
    ({**GOOD, "external_id": ""}, "external_id: must be 1 to 128 characters"),
    ({**GOOD, "external_id": "x" * 129}, "external_id: must be 1 to 128 characters"),
    ({**GOOD, "external_id": "a\x00b"}, "external_id: must not contain NUL"),
    ({**GOOD, "payload": [1]}, "payload: expected an object"),
    ({**GOOD, "payload": None}, "payload: expected an object"),
    ({**GOOD, "payload": {f"k{i}": i for i in range(51)}}, "payload: at most 50 fields"),
    ({**GOOD, "payload": {"k" * 65: 1}}, "field names are at most 64 characters"),
]


@pytest.mark.parametrize("data", ACCEPTED, ids=range(len(ACCEPTED)))
def test_lines_the_api_accepts_parse(data: dict[str, Any]) -> None:
    ev = parse_event(data)
    api = EventIn.model_validate(data)
    assert (ev.nhs_number, ev.type, ev.occurred_at, ev.external_id, ev.payload) == (
        api.nhs_number,
        api.type,
        api.occurred_at,
        api.external_id,
        api.payload,
    )


@pytest.mark.parametrize(("data", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_lines_the_api_refuses_are_refused_naming_the_field(data: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message.replace("(", r"\(")):
        parse_event(data)
    with pytest.raises(ValidationError):
        EventIn.model_validate(data)


def test_a_line_parses_to_its_fields() -> None:
    ev = parse_event({**GOOD, "external_id": "a1", "payload": {"ward": "7"}})
    assert ev == EventLine(
        MRS_JONES, "admission", dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC), "a1", {"ward": "7"}
    )


def _lines(*events: dict[str, Any]) -> list[bytes]:
    return [json.dumps(e).encode() + b"\n" for e in events] + [b"\n"]


def test_replay_routes_counts_and_skips_repeats(sqlite_world: World) -> None:
    join_teams(sqlite_world)
    lines = _lines(
        {**GOOD, "external_id": "a1"},
        {**GOOD, "type": "discharge", "occurred_at": "2026-11-05T10:00:00Z", "external_id": "d1"},
    )
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    cfg = config.load()
    for expected_new in (2, 0):
        with sqlite_world.session() as s, s.begin():
            ctx = Ctx(s, system_user(s, now), now, cfg)
            counts = replay(ctx, lines, where="f.jsonl", source="replay:f.jsonl")
        assert (counts.new, counts.duplicate) == (expected_new, 2 - expected_new)
        if expected_new:
            assert counts.notifications > 0 and counts.tasks > 0
    with sqlite_world.session() as s:
        sources = s.execute(select(Event.source)).scalars().all()
        assert sources == ["replay:f.jsonl"] * 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"{not json\n", "f.jsonl:2: not JSON"),
        (json.dumps({**GOOD, "nhs_number": "1"}).encode(), "f.jsonl:2: nhs_number: expected"),
        (json.dumps({**GOOD, "type": "party"}).encode(), "f.jsonl:2: type: 'party' is not one"),
        (
            json.dumps({**GOOD, "occurred_at": "2026-11-01T10:00:00"}).encode(),
            "f.jsonl:2: occurred_at: give a time zone",
        ),
        (
            json.dumps({**GOOD, "nhs_number": "9999999999"}).encode(),
            "f.jsonl:2: nhs_number: no person",
        ),
    ],
)
def test_replay_stops_at_the_first_bad_line_naming_it(
    sqlite_world: World, bad: bytes, message: str
) -> None:
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with sqlite_world.session() as s:
        s.begin()
        ctx = Ctx(s, system_user(s, now), now, config.load())
        with pytest.raises(InputError, match=message):
            replay(ctx, [json.dumps(GOOD).encode(), bad], where="f.jsonl", source="t")
        s.rollback()
    with sqlite_world.session() as s:
        assert s.execute(select(func.count()).select_from(Event)).scalar_one() == 0
