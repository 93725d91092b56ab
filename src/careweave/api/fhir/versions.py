"""Versions on ``/fhir``: the ``ETag`` of a version and the ``history`` Bundle of a resource.

One place for what read, vread, ``_history`` and an ``If-Match`` update must agree on: a
version ``n`` is ``meta.versionId = "n"``, ``ETag: W/"n"`` and, in a history entry,
``response.etag = W/"n"`` (newest first)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from careweave.api.fhir.resources import instant, validated


def etag(version: int | str) -> dict[str, str]:
    return {"ETag": f'W/"{version}"'}


def history_bundle(
    root: str, kind: str, resource_id: str, versions: list[tuple[dict[str, Any], dt.datetime]]
) -> dict[str, Any]:
    """A ``history`` Bundle of ``versions`` (each the resource as it was and when it was
    saved, oldest first): version 1 was the create, every later one an update."""
    entries = []
    for resource, at in reversed(versions):
        version = resource["meta"]["versionId"]
        first = version == "1"
        entries.append(
            {
                "fullUrl": f"{root}/{kind}/{resource_id}",
                "resource": resource,
                "request": {
                    "method": "POST" if first else "PUT",
                    "url": kind if first else f"{kind}/{resource_id}",
                },
                "response": {
                    "status": "201 Created" if first else "200 OK",
                    "etag": f'W/"{version}"',
                    "lastModified": instant(at),
                },
            }
        )
    return validated(
        {"resourceType": "Bundle", "type": "history", "total": len(entries), "entry": entries}
    )
