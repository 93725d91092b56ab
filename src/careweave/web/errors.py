"""Errors in words for the pages: what went wrong, naming the field as a person would,
never a regular expression or a model's field path.

The API keeps its JSON errors; these turn the same errors into sentences for the NHS.UK
error pages (careweave.web.app installs the handlers).
"""

from __future__ import annotations

import re
from typing import Any

from careweave.web.templating import ROLE_NAMES, nhs_format

# Query and form parameters as their pages label them.
LABELS = {
    "q": "Search",
    "nhs_number": "NHS number",
    "template_id": "Assessment",
    "level": "CCM level",
    "dir": "Order",
    "sort": "Sort by",
    "by": "Group by",
    "period": "Period",
    "setting": "Setting",
    "page": "Page",
    "locality": "Locality",
    "enrolled": "Enrolled",
}
CHOICE_WORDS = {"asc": "lowest first", "desc": "highest first", "nhs": "NHS number"}
RESOURCE_WORDS = {
    "person": "people's records",
    "register": "the worklist and register",
    "care_team": "care teams",
    "care_plan": "care plans",
    "assessment": "assessments",
    "referral": "referrals",
    "mdt": "MDT meetings",
    "task": "tasks",
    "notification": "notifications",
    "pseudonymised": "population figures",
    "user": "user accounts",
    "audit": "the audit log",
    "break_glass": "emergency access",
    "objection": "objections",
    "caseload": "caseloads",
    "telehealth": "telehealth settings",
    "service": "the service directory",
}
VERBS = {"read": "see", "write": "change", "review": "review"}


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _choices(pattern: str) -> list[str] | None:
    """'^(risk|level|age|nhs)$' -> ['risk', 'level', 'age', 'nhs'] (None for other patterns)."""
    m = re.fullmatch(r"\^\(?([A-Za-z0-9_|]+)\)?\??\$", pattern)
    return [c for c in m[1].split("|") if c] if m else None


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def validation_message(err: dict[str, Any]) -> str:
    """One pydantic/FastAPI error as a sentence naming the field."""
    loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path", "header")]
    name = label(loc[-1] if loc and not loc[-1].isdigit() else (loc[0] if loc else "value"))
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return f"{name} is missing"
    if kind == "string_pattern_mismatch":
        choices = _choices(str(ctx.get("pattern", "")))
        if name == "NHS number":
            return "NHS number must be 10 digits, like 943 476 5919"
        if choices:
            return f"{name} must be {_or_list([CHOICE_WORDS.get(c, c) for c in choices])}"
        return f"{name} is not in the expected form"
    if kind in ("int_parsing", "int_from_float"):
        return f"{name} must be a whole number"
    if kind in ("float_parsing",):
        return f"{name} must be a number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{name} must be {ctx.get('ge', ctx.get('gt'))} or more"
    if kind in ("less_than_equal", "less_than"):
        return f"{name} must be {ctx.get('le', ctx.get('lt'))} or less"
    if kind == "string_too_long":
        return f"{name} must be {ctx.get('max_length')} characters or fewer"
    if kind == "string_too_short":
        return f"{name} must be at least {ctx.get('min_length')} characters"
    if kind in ("bool_parsing",):
        return f"{name} must be yes or no"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return f"{name} must be a real date, like 23 11 2026"
    return f"{name} is not valid"


_ROLE_REFUSAL = re.compile(r"^(\w+): role '(\w+)' may not (\w+)$")
_NO_PERSON = re.compile(r"^nhs_number: no person ([0-9]{10}) in the people index$")


def domain_message(status: int, message: str) -> str:
    """A domain error's message as its page shows it (the rule, in words)."""
    if m := _ROLE_REFUSAL.match(message):
        resource, role, action = m.groups()
        what = RESOURCE_WORDS.get(resource, resource.replace("_", " "))
        return (
            f"Your role ({ROLE_NAMES.get(role, role)}) cannot {VERBS.get(action, action)} {what}."
        )
    if m := _NO_PERSON.match(message):
        return f"No one with NHS number {nhs_format(m[1])} is known to Careweave."
    return message


# A domain error's message: "field: words" ("actions[0].owner_user_id: ..."), the field a
# path a person never sees.
_FIELD_MESSAGE = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.S)


def form_error(error: Exception | str, fields: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """A domain error as (form field id, sentence) for a form's error summary and inline
    message: ``fields`` maps the domain's field name (``actions.owner_user_id``, indices
    dropped) to the form's field id and its label, and the sentence names the field as
    labelled ("Owner: Bethan Hughes has no care relationship with ..."). A message naming
    no known field is shown unlinked, its path prefix removed."""
    text = domain_message(400, str(error))
    m = _FIELD_MESSAGE.match(text)
    if not m:
        return "", text[:1].upper() + text[1:]
    name, words = re.sub(r"\[\d+\]", "", m[1]), m[2].strip()
    fid, what = fields.get(name) or fields.get(name.rsplit(".", 1)[-1]) or ("", "")
    if not what:
        return fid, words[:1].upper() + words[1:]
    return fid, f"{what}: {words}"
