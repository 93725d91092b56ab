"""Format-neutral value helpers shared by the importers (FHIR and Synthea CSV).

Dates and timestamps as the sources write them (ISO 8601, possibly partial or
with an offset), amounts of money converted to pounds with the rates given on
the command line, and codes classified against the canonical code systems.
Nothing here knows about FHIR datatypes or CSV rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careweave.importers import vocab

#: The code system of ISO 4217 currency codes (reported when a currency has no rate).
CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def parse_date(value: Any) -> dt.date | None:
    """The calendar date of a FHIR date/dateTime as sent (partial dates padded to the 1st)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    s = value[:10]
    if len(s) == 4:
        s += "-01-01"
    elif len(s) == 7:
        s += "-01"
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def parse_ts(value: Any) -> dt.datetime | None:
    """A FHIR dateTime as a naive UTC timestamp (date-only values: midnight)."""
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        d = parse_date(value)
        return dt.datetime(d.year, d.month, d.day) if d else None
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return t


def to_gbp(amount: float, currency: str, rates: dict[str, float]) -> float | None:
    """``amount`` of ``currency`` in pounds (to the penny); None when no rate was given."""
    if currency == "GBP":
        return amount
    rate = rates.get(currency)
    return None if rate is None else round(amount * rate, 2)


def classify(uri: Any, raw_code: Any) -> tuple[str, str, str]:
    """("ok" | "other" | "malformed", code_system, code) for one code in system ``uri``.

    ``other``: the system is not a canonical one (the code is kept as sent);
    ``malformed``: a canonical system, but the code is not well formed in it.
    """
    code = str(raw_code)
    system = vocab.SYSTEMS.get(str(uri or ""))
    if system is None:
        return "other", "other", code
    if system == "icd10":
        from careweave.dataset.codes import normalise_icd10

        code = normalise_icd10(code)
    if not vocab.code_ok(system, code):
        return "malformed", system, code
    return "ok", system, code
