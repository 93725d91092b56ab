"""Events replayed from a JSON-lines file (``careweave events replay``).

Each line is one event with the fields of the ``POST /events`` body and is
checked here by the care core's own rules, not by the API's schema: a JSON
object with ``nhs_number`` (ten digits), ``type``, ``occurred_at`` (ISO 8601
with a time zone), optional ``external_id`` (1-128 characters) and optional
``payload`` (an object of at most 50 fields, names of at most 64 characters);
no other fields; no NUL characters in text. It is then recorded and routed by
:func:`careweave.care.events.ingest`, exactly as the API does.

The caller owns the transaction: :func:`replay` stops at the first bad line
with an :class:`~careweave.errors.InputError` naming ``FILE:LINE: field:
problem``, and the caller rolls back, so a file is replayed whole or not at all.
Lines whose ``external_id`` is already stored count as duplicates and change
nothing, so replaying a file twice is safe.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from careweave.care import events
from careweave.care.context import Ctx
from careweave.errors import InputError
from careweave.security.errors import DomainError, Invalid

FIELDS = ("nhs_number", "type", "occurred_at", "external_id", "payload")
REQUIRED = ("nhs_number", "type", "occurred_at")
MAX_EXTERNAL_ID = 128
MAX_PAYLOAD_FIELDS = 50
MAX_PAYLOAD_NAME = 64
_NHS_NUMBER = re.compile(r"[0-9]{10}")


@dataclass(frozen=True)
class EventLine:
    """One event read from a file, checked for shape (the rules come in ``ingest``)."""

    nhs_number: str
    type: str
    occurred_at: dt.datetime
    external_id: str | None
    payload: dict[str, Any]


@dataclass
class ReplayCounts:
    """What a replay did: events new and already seen, and what routing them produced."""

    new: int = 0
    duplicate: int = 0
    notifications: int = 0
    tasks: int = 0
    alerts: int = 0

    def add(self, routed: events.Routed) -> None:
        if routed.duplicate:
            self.duplicate += 1
        else:
            self.new += 1
        self.notifications += len(routed.notifications)
        self.tasks += len(routed.tasks)
        self.alerts += len(routed.alerts)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field}: expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise Invalid(f"{field}: must not contain NUL characters")
    return value


def _occurred_at(value: object) -> dt.datetime:
    text = _text(value, "occurred_at")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"occurred_at: {text!r} is not an ISO 8601 time") from None


def _external_id(value: object) -> str | None:
    if value is None:
        return None
    text = _text(value, "external_id")
    if not 1 <= len(text) <= MAX_EXTERNAL_ID:
        raise Invalid(f"external_id: must be 1 to {MAX_EXTERNAL_ID} characters")
    return text


def _payload(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"payload: expected an object, got {type(value).__name__}")
    if len(value) > MAX_PAYLOAD_FIELDS:
        raise Invalid(f"payload: at most {MAX_PAYLOAD_FIELDS} fields, got {len(value)}")
    for name in value:
        _text(name, "payload")
        if len(name) > MAX_PAYLOAD_NAME:
            raise Invalid(
                f"payload.{name[:20]}...: field names are at most {MAX_PAYLOAD_NAME} characters"
            )
    return dict(value)


def parse_event(data: object) -> EventLine:
    """One line's JSON value as an event; :class:`Invalid` ``field: problem`` if it is not one."""
    if not isinstance(data, dict):
        raise Invalid(f"expected a JSON object with {', '.join(REQUIRED)}")
    for name in data:
        if name not in FIELDS:
            raise Invalid(f"{name}: not a field of an event ({', '.join(FIELDS)})")
    for name in REQUIRED:
        if data.get(name) is None:
            raise Invalid(f"{name}: missing")
    nhs_number = _text(data["nhs_number"], "nhs_number")
    if not _NHS_NUMBER.fullmatch(nhs_number):
        raise Invalid("nhs_number: expected 10 digits")
    return EventLine(
        nhs_number=nhs_number,
        type=_text(data["type"], "type"),
        occurred_at=_occurred_at(data["occurred_at"]),
        external_id=_external_id(data.get("external_id")),
        payload=_payload(data.get("payload", {})),
    )


def replay(ctx: Ctx, lines: Iterable[bytes], *, where: str, source: str) -> ReplayCounts:
    """Record and route every event in ``lines`` (JSON lines; blank lines skipped).

    ``where`` names the file in errors (``where:LINE: field: problem``);
    ``source`` is stored on each event. Stops at the first bad line.
    """
    counts = ReplayCounts()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        at = f"{where}:{lineno}"
        try:
            ev = parse_event(orjson.loads(line))
            routed = events.ingest(
                ctx,
                ev.nhs_number,
                ev.type,
                ev.occurred_at,
                ev.payload,
                ev.external_id,
                source=source,
            )
        except orjson.JSONDecodeError as e:
            raise InputError(f"{at}: not JSON ({e})") from e
        except DomainError as e:
            raise InputError(f"{at}: {e}") from e
        counts.add(routed)
    return counts
