"""The web workbench: server-rendered NHS.UK pages on the care API's FastAPI app.

``install(app)`` adds the pages (under ``/app``), the public service directory
(``/app/directory``) and the vendored NHS.UK frontend assets (``/assets``) to an
app built by ``careweave.api.create_app``; careweave.server (the composition root)
does that. The web depends on the API (its request dependencies, careweave.api.deps),
never the other way round. ``demo_setup`` creates demo users,
care teams and the Mr & Mrs Jones scenario so a newcomer can click through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(
    app: FastAPI,
    warehouse: Path | str | None = None,
    budget: Path | str | None = None,
    *,
    freeze: bool = False,
) -> None:
    """Add the workbench to ``app`` (see careweave.web.app.install)."""
    from careweave.web.app import install as _install

    _install(app, warehouse, budget, freeze=freeze)


def demo_setup(
    db_url: str, warehouse: Path, *, readings: bool = True
) -> list[tuple[str, str, str]]:
    """Demo users (username, password, role), care teams and the Jones scenario
    (``readings=False``: without Mrs Jones's week of glucose readings, for a test that sends
    them through the events API as the telehealth hub would)."""
    from careweave.web.demo import demo_setup as _demo_setup

    return _demo_setup(db_url, warehouse, readings=readings)


__all__ = ["demo_setup", "install"]
