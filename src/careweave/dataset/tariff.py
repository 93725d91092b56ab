"""The unit-cost tariff: shipped default, user overrides validated and merged.

Costs in Careweave (profile concentration figures, segment spend, finance)
come from activity rows: a row's own ``cost`` where the source has one, else
this tariff. The default lives in ``careweave/dataset/data/tariff.toml`` with
its sources; an override file may give any subset of the same keys.

The same file says, for each activity (tariff item), its **setting** (acute,
community, primary care, prescribing, mental health, social care) and its
**funder** (NHS, local authority, pooled): sections ``[setting]`` and
``[funder]`` whose keys are a section name (every item of that section) or
``"section.item"`` (one item; it wins over its section), read by
:func:`load_funding`. An override file may reassign any of them, e.g.
``[funder]`` ``"social_care.nursing_week" = "nhs"`` for NHS continuing
healthcare. Parts of an activity's cost that are not an activity themselves
(``excess_bed_day``, ``home_visit_uplift``) go with the spell or consultation
they belong to.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from careweave.errors import InputError

Tariff = dict[str, dict[str, float]]

#: Settings of care, in the order reports show them.
SETTINGS = ("acute", "community", "primary_care", "prescribing", "mental_health", "social_care")
#: Who pays.
FUNDERS = ("nhs", "local_authority", "pooled")
#: The tariff file's assignment sections and their allowed values.
ASSIGNMENTS: dict[str, tuple[str, ...]] = {"setting": SETTINGS, "funder": FUNDERS}
LABELS = {
    "acute": "Acute hospital",
    "community": "Community health",
    "primary_care": "Primary care",
    "prescribing": "Prescribing",
    "mental_health": "Mental health",
    "social_care": "Social care",
    "nhs": "NHS",
    "local_authority": "Local authority",
    "pooled": "Pooled budget",
}


@dataclass(frozen=True)
class Funding:
    """Each tariff item's (``"section.item"``) setting and funder."""

    setting: dict[str, str]
    funder: dict[str, str]

    def items(self, setting: str, funder: str) -> frozenset[str]:
        """The items in ``setting`` paid for by ``funder``."""
        return frozenset(
            i for i, s in self.setting.items() if s == setting and self.funder[i] == funder
        )


def _default_raw() -> dict[str, Any]:
    text = resources.files("careweave.dataset").joinpath("data/tariff.toml").read_text()
    return tomllib.loads(text)


def _sections(raw: dict[str, Any]) -> Tariff:
    return {k: dict(v) for k, v in raw.items() if isinstance(v, dict) and k not in ASSIGNMENTS}


def default_tariff() -> Tariff:
    return _sections(_default_raw())


def identity(tariff: Tariff, path: Path | None = None) -> str:
    """The tariff's identity for outputs: ``<source>:<digest>``.

    The source is ``default`` or the override file's name; the digest is the first
    12 hex digits of the SHA-256 of the merged unit costs (sorted JSON), so two
    tariffs with the same costs have the same digest, and any changed cost changes it.
    """
    source = "default" if path is None else Path(path).name
    canonical = json.dumps(tariff, sort_keys=True, separators=(",", ":"))
    return f"{source}:{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"


def load_tariff(path: Path | None = None) -> Tariff:
    """The default tariff, with ``path``'s values merged over it when given.

    InputError names the file and key of anything unknown, non-numeric or negative.
    """
    tariff = default_tariff()
    if path is None:
        return tariff
    try:
        override = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: cannot read tariff ({e})") from None
    for section, values in override.items():
        if section in ASSIGNMENTS:
            continue  # checked by load_funding
        if not isinstance(values, dict):
            if section in ("year", "currency"):
                continue
            raise InputError(f"{path}: {section}: expected a [section] of unit costs")
        if section not in tariff:
            raise InputError(
                f"{path}: unknown tariff section [{section}] "
                f"(known: {', '.join([*tariff, *ASSIGNMENTS])})"
            )
        for key, value in values.items():
            if key not in tariff[section]:
                raise InputError(f"{path}: [{section}] {key}: unknown tariff item")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InputError(
                    f"{path}: [{section}] {key}: expected a non-negative number, got {value!r}"
                )
            tariff[section][key] = float(value)
    return tariff


def _assign(
    values: Any, kind: str, tariff: Tariff, where: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(section -> value, "section.item" -> value) of one ``[setting]``/``[funder]`` table."""
    allowed = ASSIGNMENTS[kind]
    if not isinstance(values, dict):
        raise InputError(f"{where}: {kind}: expected a [{kind}] table")
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):  # [funder.social_care] or social_care.x = ... unquoted
            flat += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            flat.append((key, value))
    sections: dict[str, str] = {}
    items: dict[str, str] = {}
    for key, value in flat:
        section, _, item = key.partition(".")
        if section not in tariff:
            raise InputError(
                f"{where}: [{kind}] {key}: unknown tariff section {section!r} "
                f"(known: {', '.join(tariff)})"
            )
        if item and item not in tariff[section]:
            raise InputError(f"{where}: [{kind}] {key}: unknown tariff item")
        if value not in allowed:
            raise InputError(
                f"{where}: [{kind}] {key}: expected one of {', '.join(allowed)}, got {value!r}"
            )
        (items if item else sections)[key] = str(value)
    return sections, items


def _resolve(tariff: Tariff, layers: list[tuple[dict[str, str], dict[str, str]]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sections, items in layers:
        for section, value in sections.items():
            # a section-wide value replaces the layers below it, item assignments included
            out.update({f"{section}.{i}": value for i in tariff[section]})
        out.update(items)
    return out


def default_funding() -> Funding:
    return load_funding(None)


def load_funding(path: Path | None = None) -> Funding:
    """Each tariff item's setting and funder: the default file's ``[setting]`` and ``[funder]``,
    with ``path``'s merged over them (a section-wide value first, then single items).

    InputError names the file and key of an unknown section, item or value."""
    raw = _default_raw()
    tariff = _sections(raw)
    override: dict[str, Any] = {}
    if path is not None:
        try:
            override = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise InputError(f"{path}: cannot read tariff ({e})") from None
    out: dict[str, dict[str, str]] = {}
    for kind in ASSIGNMENTS:
        layers = [_assign(raw[kind], kind, tariff, "careweave/dataset/data/tariff.toml")]
        if kind in override:
            layers.append(_assign(override[kind], kind, tariff, str(path)))
        out[kind] = _resolve(tariff, layers)
        missing = [f"{s}.{i}" for s in tariff for i in tariff[s] if f"{s}.{i}" not in out[kind]]
        if missing:  # the shipped file covers every item; a guard for edits to it
            raise InputError(f"tariff.toml: [{kind}] gives nothing for {', '.join(missing)}")
    return Funding(setting=out["setting"], funder=out["funder"])
