"""The workbench's Jinja2 templates and the filters they use, without the web framework.

Pages render through :mod:`careweave.web.render` (which adds the page context: user,
CSRF token, navigation); reports that only need the templates (``careweave report``'s
PDF pack, the maturity report) import this module, so a command-line report does not
pay for importing FastAPI, the API and the store's models (about two seconds of CPU).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from careweave.care.wording import uk_time

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

ROLE_NAMES = {
    "clinician": "Clinician (GP)",
    "care_coordinator": "Care co-ordinator",
    "case_manager": "Case manager",
    "social_worker": "Social worker",
    "care_provider": "Care provider",
    "analyst": "Commissioner / analyst",
    "administrator": "Administrator",
    "integration": "Integration feed",
}


def nhs_format(nhs: str | None) -> str:
    """NHS numbers are shown 3-3-4, as on every NHS record."""
    if not nhs or len(nhs) != 10:
        return nhs or ""
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def when(value: dt.datetime | dt.date | str | None) -> str:
    """Dates and times on pages: ``careweave.care.wording.uk_time`` (UK local time, GMT or
    BST, never UTC), the one helper every page, message and chart uses."""
    return uk_time(value)


def age(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def org_name(org_id: str | None, orgs: dict[str, Any]) -> str:
    """An organisation by its name (the code only when the index does not know it)."""
    if not org_id:
        return "Not registered"
    o = orgs.get(org_id)
    return str(o.name) if o is not None else org_id


# Preferred languages (ISO 639-1) as care staff say them; the common ones in England and
# Wales, else the code as recorded.
LANGUAGES = {
    "en": "English",
    "cy": "Welsh",
    "gd": "Scottish Gaelic",
    "ga": "Irish",
    "pl": "Polish",
    "ro": "Romanian",
    "pa": "Punjabi",
    "ur": "Urdu",
    "bn": "Bengali",
    "gu": "Gujarati",
    "ar": "Arabic",
    "pt": "Portuguese",
    "es": "Spanish",
    "so": "Somali",
    "lt": "Lithuanian",
    "tr": "Turkish",
    "it": "Italian",
    "fr": "French",
    "zh": "Chinese",
    "ta": "Tamil",
    "bg": "Bulgarian",
    "fa": "Persian",
    "ku": "Kurdish",
    "uk": "Ukrainian",
    "ru": "Russian",
    "hi": "Hindi",
    "sq": "Albanian",
    "ti": "Tigrinya",
    "ps": "Pashto",
    "de": "German",
}


def language(code: str | None) -> str:
    if not code:
        return "Not recorded"
    return LANGUAGES.get(code.lower(), code)


def percent(probability: float | None) -> str:
    """A probability as people read it: 42%, "less than 1%", "more than 99%"."""
    if probability is None:
        return ""
    pct = probability * 100
    if pct < 1:
        return "less than 1%"
    if pct > 99:
        return "more than 99%"
    return f"{pct:.0f}%"


def top_share(percentile: float | None) -> str:
    """Percentile 99.7 -> "0.3%": the share of people scored as high or higher (>= 0.1%)."""
    if percentile is None:
        return ""
    share = max(0.1, 100.0 - percentile)
    return f"{share:.1f}%" if share < 10 else f"{share:.0f}%"


def replace_pair(value: str) -> tuple[str, str]:
    """A code for a select's options: ("home_care_provider", "home care provider")."""
    return value, value.replace("_", " ")


env.filters["replace_pair"] = replace_pair
env.filters["percent"] = percent
env.filters["top_share"] = top_share
env.filters["nhs"] = nhs_format
env.filters["when"] = when
env.filters["age_on"] = age
env.filters["org_name"] = org_name
env.filters["language"] = language
# One helper under three names the templates already use: dates and times in UK local time.
env.filters["uk"] = uk_time
env.filters["uk_iso"] = uk_time
env.globals["ROLE_NAMES"] = ROLE_NAMES


class Fragment:
    """Part of a page rendered once and kept as UTF-8 bytes (a commissioner dashboard's
    cards are about a megabyte), put into the page as it is sent.

    In a template it renders as a comment marker unique to the fragment;
    :func:`splice` then replaces each marker in the rendered page with the kept bytes,
    so a page made from a kept fragment neither copies, escapes nor encodes it again
    (re-encoding a megabyte of non-ASCII text costs several milliseconds of CPU a
    request). Its HTML is trusted: it was rendered by a template with autoescaping.
    """

    __slots__ = ("data", "marker")

    def __init__(self, html: str) -> None:
        self.data = html.encode("utf-8")
        self.marker = f"<!--cw-fragment {secrets.token_hex(8)}-->"

    def __html__(self) -> str:
        return self.marker

    def __len__(self) -> int:
        return len(self.data)


def splice(text: str, fragments: list[Fragment]) -> bytes:
    """The page ``text`` as UTF-8 with each fragment's marker replaced by its bytes
    (wherever, and however often, the template put it)."""
    kept = {f.marker: f.data for f in fragments}
    parts = _MARKER.split(text)
    # re.split with a group: text, marker, text, marker, ..., text
    return b"".join(
        kept.get(part, part.encode("utf-8")) if i % 2 else part.encode("utf-8")
        for i, part in enumerate(parts)
    )


_MARKER = re.compile(r"(<!--cw-fragment [0-9a-f]{16}-->)")
