"""Search parameters (checked against the capability table) and searchset Bundles."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from careweave.api.fhir.capability import COMMON, SERVED
from careweave.api.fhir.outcome import PREFIX, FhirError
from careweave.api.fhir.resources import validated

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 100_000
# Format parameters a client may send; only JSON is served.
FORMAT_OK = {"json", "application/json", "application/fhir+json"}


@dataclass
class Search:
    params: dict[str, list[str]] = field(default_factory=dict)
    count: int = DEFAULT_COUNT
    offset: int = 0
    includes: list[str] = field(default_factory=list)

    def one(self, name: str) -> str | None:
        values = self.params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise FhirError(400, f"{name}: give it once (several values: comma-separated)")
        return values[0]


def _number(name: str, value: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]{1,7}", value) or not low <= int(value) <= high:
        raise FhirError(400, f"{name}: must be a whole number from {low} to {high}")
    return int(value)


def parse(resource: str, request: Request) -> Search:
    """The request's search parameters; an unknown or unsupported one is a 400."""
    known = SERVED[resource].search
    out = Search()
    for name, value in request.query_params.multi_items():
        if name == "_include":
            served = SERVED[resource].includes
            if value not in served:
                raise FhirError(
                    400,
                    f"_include: {value!r} is not served for {resource} "
                    f"(served: {', '.join(served) or 'none'})",
                    "not-supported",
                )
            out.includes.append(value)
            continue
        if name == "_format":
            if value not in FORMAT_OK:
                raise FhirError(406, f"_format: only JSON is served, not {value!r}")
            continue
        if name == "_count":
            out.count = _number(name, value, 1, MAX_COUNT)
            continue
        if name == "_offset":
            out.offset = _number(name, value, 0, MAX_OFFSET)
            continue
        if name not in known:
            allowed = ", ".join(sorted({*known, *COMMON}))
            raise FhirError(
                400,
                f"{name}: not a supported search parameter for {resource} (supported: {allowed})",
                "not-supported",
            )
        if value == "":
            raise FhirError(400, f"{name}: give a value")
        out.params.setdefault(name, []).append(value)
    return out


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def token(value: str, system: str) -> str | None:
    """The code of a token search value ``[system|]code``; None when its system differs."""
    if "|" in value:
        sys, _, code = value.partition("|")
        return code if sys in ("", system) else None
    return value


def reference(value: str, resource: str) -> str:
    """The id of a reference search value (``Patient/123``, ``123`` or a full URL)."""
    tail = value.rsplit("/", 2)
    if len(tail) >= 2 and tail[-2] != resource:
        raise FhirError(400, f"{value!r}: expected a reference to a {resource}")
    return tail[-1]


DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def date_range(name: str, value: str) -> tuple[str, dt.date, dt.date]:
    """A date search value as (prefix, first day, last day) of the precision given."""
    m = DATE.match(value)
    if m is None:
        raise FhirError(400, f"{name}: {value!r} is not a date like [ge]1941-05-01")
    prefix = m.group(1) or "eq"
    if prefix in ("ne", "sa", "eb"):
        raise FhirError(400, f"{name}: the {prefix!r} prefix is not supported", "not-supported")
    year, month, day = m.group(2), m.group(3), m.group(4)
    try:
        if day:
            first = last = dt.date(int(year), int(month), int(day))
        elif month:
            first = dt.date(int(year), int(month), 1)
            nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
            last = nxt - dt.timedelta(days=1)
        else:
            first, last = dt.date(int(year), 1, 1), dt.date(int(year), 12, 31)
    except ValueError:
        raise FhirError(400, f"{name}: {value!r} is not a real date") from None
    return prefix, first, last


def bundle(
    request: Request,
    resource: str,
    found: list[dict[str, Any]],
    search: Search,
    more: bool,
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of ``found`` with ``self`` and, when there are more, ``next``;
    ``included`` (resources asked for with ``_include``) are entries of mode ``include``."""
    root = base(request)

    def url(offset: int) -> str:
        items = [(k, v) for k, vs in search.params.items() for v in vs]
        items += [("_include", v) for v in search.includes]
        items += [("_count", str(search.count)), ("_offset", str(offset))]
        return f"{root}/{resource}?{urlencode(items)}"

    links = [{"relation": "self", "url": url(search.offset)}]
    if more:
        links.append({"relation": "next", "url": url(search.offset + search.count)})
    if search.offset > 0:
        links.append({"relation": "previous", "url": url(max(0, search.offset - search.count))})
    return validated(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{root}/{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": mode},
                }
                for mode, rows in (("match", found), ("include", included or []))
                for r in rows
            ],
        }
    )
