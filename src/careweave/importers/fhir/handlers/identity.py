"""A Patient's identity (name, address, telephone, language) and its UK Core extensions.

These fill the identifying people columns of the canonical dataset (never in
analytics outputs; see ``dataset.tables.IDENTIFYING_COLUMNS``) and the language
and interpreter columns used to plan care. Choices, where a Patient has several:

- name: the first with ``use`` official (else usual, else the first not old);
  ``title`` is its first prefix, ``given_name`` its first given name;
- address: the first with ``use`` home (else the first not old or billing);
  ``address_line_1``/``_2`` its first two lines, ``town`` its city;
- telephone: the first ``phone`` telecom with ``use`` home or mobile (else any phone);
- preferred_language: the UK Core NHSCommunication extension's language where it
  is preferred, else ``communication`` marked preferred, else the first; kept
  when its code is an ISO 639-1 language (``cy``, ``en-GB`` -> ``en``);
- interpreter_required: the NHSCommunication extension's ``interpreterRequired``
  or the core ``patient-interpreterRequired`` extension.
"""

from __future__ import annotations

from typing import Any

from careweave.importers import vocab
from careweave.importers.fhir.fields import Resource, codes_of

Identity = tuple[Any, ...]


def _pick(items: Any, preferred: tuple[str, ...], avoid: tuple[str, ...] = ("old",)) -> Resource:
    usable = [i for i in items or () if isinstance(i, dict) and i.get("use") not in avoid]
    for use in preferred:
        for item in usable:
            if item.get("use") == use:
                return item
    return usable[0] if usable else {}


def _first(values: Any) -> str | None:
    for v in values or ():
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _language(cc: Any) -> str | None:
    for _, code, _ in codes_of(cc):
        lang = code.split("-")[0].lower()
        if len(lang) == 2 and lang.isalpha():
            return lang
    return None


def _communication(res: Resource) -> tuple[str | None, bool | None]:
    language: str | None = None
    interpreter: bool | None = None
    for ext in res.get("extension") or ():
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == vocab.INTERPRETER_REQUIRED and isinstance(
            ext.get("valueBoolean"), bool
        ):
            interpreter = ext["valueBoolean"]
        elif ext.get("url") == vocab.NHS_COMMUNICATION:
            subs = {s.get("url"): s for s in ext.get("extension") or () if isinstance(s, dict)}
            lang = _language((subs.get("language") or {}).get("valueCodeableConcept"))
            if lang and (language is None or (subs.get("preferred") or {}).get("valueBoolean")):
                language = lang
            needed = (subs.get("interpreterRequired") or {}).get("valueBoolean")
            if isinstance(needed, bool):
                interpreter = needed or bool(interpreter)
    if language is None:
        comms = [c for c in res.get("communication") or () if isinstance(c, dict)]
        comms.sort(key=lambda c: c.get("preferred") is not True)
        for c in comms:
            language = _language(c.get("language"))
            if language:
                break
    return language, interpreter


def identity(res: Resource) -> Identity:
    """The ten identity values of s_people, in column order (title .. interpreter_required)."""
    name = _pick(res.get("name"), ("official", "usual"), ("old", "anonymous"))
    address = _pick(res.get("address"), ("home",), ("old", "billing"))
    lines = [v.strip() for v in address.get("line") or () if isinstance(v, str) and v.strip()]
    phones = [t for t in res.get("telecom") or () if isinstance(t, dict)]
    phones = [t for t in phones if t.get("system") == "phone" and t.get("use") != "old"]
    phone = _pick(phones, ("home", "mobile")).get("value")
    family = name.get("family")
    language, interpreter = _communication(res)
    return (
        _first(name.get("prefix")),
        _first(name.get("given")),
        family.strip() if isinstance(family, str) and family.strip() else None,
        lines[0] if lines else None,
        lines[1] if len(lines) > 1 else None,
        address.get("city") if isinstance(address.get("city"), str) else None,
        address.get("postalCode") if isinstance(address.get("postalCode"), str) else None,
        phone if isinstance(phone, str) else None,
        language,
        interpreter,
    )


def verification_status(ident: Resource) -> str | None:
    """The UK Core NHS-number verification status code on an NHS-number identifier."""
    for ext in ident.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == vocab.NHS_NUMBER_VERIFICATION:
            for _, code, _ in codes_of(ext.get("valueCodeableConcept")):
                return code
    return None


def death_notice_removed(res: Resource) -> bool:
    """True when the UK Core death notification status says the notice was removed (U)."""
    for ext in res.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == vocab.DEATH_NOTIFICATION:
            for sub in ext.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == "deathNotificationStatus":
                    for _, code, _ in codes_of(sub.get("valueCodeableConcept")):
                        return code == vocab.DEATH_NOTICE_REMOVED
    return False
