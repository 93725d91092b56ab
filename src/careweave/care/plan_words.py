"""A care plan change in the words a care worker uses.

``describe(old, new)`` lists what changed as short phrases ("added 'Diabetes
nurse visit by 3 December'", "'Daily glucose readings' is now done", "next
review 15 December"), matching interventions, goals and contacts by what they
say rather than by position; ``sentence`` makes the notification:
"Carys Evans stepped up Mrs Jones's care plan: added 'Diabetes nurse visit by
3 December'; next review 15 December".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

STATUS_WORDS = {
    "planned": "planned",
    "in_progress": "in progress",
    "done": "done",
    "cancelled": "cancelled",
}


def _day(value: str | None) -> str:
    if not value:
        return ""
    return dt.date.fromisoformat(value).strftime("%-d %B")


def _intervention(i: dict[str, Any]) -> str:
    due = _day(i.get("due_date"))
    return f"'{i['description']}" + (f" by {due}'" if due else "'")


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(r.get(key, "")): r for r in rows}


def describe(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Pure: the change from ``old`` (None for a new plan) to ``new`` as phrases."""
    if old is None:
        out = [f"added {_intervention(i)}" for i in new.get("interventions", [])]
        if new.get("review_date"):
            out.append(f"next review {_day(new['review_date'])}")
        return out
    out = []
    before = _by(old.get("interventions", []), "description")
    after = _by(new.get("interventions", []), "description")
    for d, i in after.items():
        if d not in before:
            out.append(f"added {_intervention(i)}")
            continue
        was = before[d]
        if was.get("status") != i.get("status"):
            out.append(f"'{d}' is now {STATUS_WORDS.get(i.get('status', ''), i.get('status'))}")
        if was.get("due_date") != i.get("due_date"):
            out.append(f"'{d}' now due {_day(i.get('due_date'))}")
        if (was.get("owner_organisation"), was.get("owner_role")) != (
            i.get("owner_organisation"),
            i.get("owner_role"),
        ):
            role = str(i.get("owner_role", "")).replace("_", " ")
            out.append(f"'{d}' now with {i.get('owner_organisation')} ({role})")
    out += [f"removed {_intervention(i)}" for d, i in before.items() if d not in after]
    goals_before = _by(old.get("goals", []), "text")
    goals_after = _by(new.get("goals", []), "text")
    out += [f"added the goal '{g}'" for g in goals_after if g not in goals_before]
    out += [f"removed the goal '{g}'" for g in goals_before if g not in goals_after]
    for g, row in goals_after.items():
        if g in goals_before and goals_before[g].get("target_date") != row.get("target_date"):
            out.append(f"the goal '{g}' now aimed for {_day(row.get('target_date'))}")
    cc_before = _by(old.get("crisis_contacts", []), "name")
    cc_after = _by(new.get("crisis_contacts", []), "name")
    out += [f"added crisis contact {n}" for n in cc_after if n not in cc_before]
    out += [f"removed crisis contact {n}" for n in cc_before if n not in cc_after]
    out += [
        f"new telephone for crisis contact {n}"
        for n, c in cc_after.items()
        if n in cc_before and cc_before[n].get("phone") != c.get("phone")
    ]
    if old.get("crisis_plan", "") != new.get("crisis_plan", ""):
        out.append("changed the crisis plan")
    if old.get("step_status") != new.get("step_status") and new.get("step_status") == "stable":
        out.append("care now stable")
    if old.get("review_date") != new.get("review_date"):
        out.append(f"next review {_day(new.get('review_date'))}")
    return out


def verb(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    if old is None:
        return "created"
    step = new.get("step_status")
    if old.get("step_status") != step and step in ("step_up", "step_down"):
        return "stepped up" if step == "step_up" else "stepped down"
    return "updated"


def sentence(actor: str, whose: str, old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """'Carys Evans stepped up Mrs Jones's care plan: added '...'; next review 15 December'."""
    phrases = describe(old, new)
    shown = phrases[:5] + ([f"and {len(phrases) - 5} more changes"] if len(phrases) > 5 else [])
    head = f"{actor} {verb(old, new)} {whose} care plan"
    return head + (": " + "; ".join(shown) if shown else "")
