"""The unit-cost tariff: shipped default, user overrides validated and merged.

Costs in Careweave (profile concentration figures, segment spend, finance)
come from activity rows: a row's own ``cost`` where the source has one, else
this tariff. The default lives in ``careweave/dataset/data/tariff.toml`` with
its sources; an override file may give any subset of the same keys.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from careweave.errors import InputError

Tariff = dict[str, dict[str, float]]


def _default_raw() -> dict[str, Any]:
    text = resources.files("careweave.dataset").joinpath("data/tariff.toml").read_text()
    return tomllib.loads(text)


def _sections(raw: dict[str, Any]) -> Tariff:
    return {k: dict(v) for k, v in raw.items() if isinstance(v, dict)}


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
        if not isinstance(values, dict):
            if section in ("year", "currency"):
                continue
            raise InputError(f"{path}: {section}: expected a [section] of unit costs")
        if section not in tariff:
            raise InputError(
                f"{path}: unknown tariff section [{section}] (known: {', '.join(tariff)})"
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
