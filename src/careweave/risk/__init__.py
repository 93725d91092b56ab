"""Risk stratification and segmentation: features, models, calibration, explanations, tiers, segments.

Public API (used by ``careweave demo``):

- :func:`train` - train and validate the model; returns the ``model train --json`` summary;
- :func:`stratify` - score, tier and segment everyone, write ``risk_scores``; returns the
  ``stratify --json`` summary;
- :func:`print_train` / :func:`print_stratify` - the readable forms of those summaries.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any


def train(
    warehouse: Path, as_of: dt.date, *, horizon_days: int = 365, out: Path | None = None
) -> dict[str, Any]:
    from careweave.risk.training import train as _train

    return _train(warehouse, as_of, horizon_days=horizon_days, out=out)


def stratify(
    warehouse: Path,
    as_of: dt.date,
    *,
    model: Path | None = None,
    engine: str = "duckdb",
    compare_to: dt.date | None = None,
    policy: Path | None = None,
    tariff: Path | None = None,
) -> dict[str, Any]:
    from careweave.risk.scoring import stratify as _stratify

    return _stratify(
        warehouse, as_of, model=model, engine=engine, compare_to=compare_to, policy=policy,
        tariff=tariff,
    )


def print_train(summary: dict[str, Any], console: Any = None) -> None:
    from careweave.risk.report import print_train as _p

    _p(summary, console)


def print_stratify(summary: dict[str, Any], console: Any = None) -> None:
    from careweave.risk.report import print_stratify as _p

    _p(summary, console)
