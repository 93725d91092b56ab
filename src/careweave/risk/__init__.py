"""Risk stratification and segmentation: features, models, calibration, explanations, tiers, segments.

Public API (used by ``careweave demo``):

- :func:`train` - train and validate the model; returns the ``model train --json`` summary;
- :func:`stratify` - score, tier and segment everyone, write ``risk_scores``; returns the
  ``stratify --json`` summary;
- :func:`print_train` / :func:`print_stratify` - the readable forms of those summaries;
- :func:`default_dates` - the latest training and scoring dates a warehouse's span allows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any


def train(
    warehouse: Path, as_of: dt.date, *, horizon_days: int = 365, out: Path | None = None
) -> dict[str, Any]:
    """Train and validate, write the model card and then the artefact; the JSON summary."""
    from careweave.risk import card, training

    trained = training.train(warehouse, as_of, horizon_days=horizon_days, out=out)
    t = trained
    md, html = card.write(t.path, t.summary, t.fitted, t.artefact, t.valid_frame, t.y_valid)
    training.save(trained)  # last: an artefact on disk always has its card beside it
    return {**trained.summary, "card": {"markdown": str(md), "html": str(html)}}


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
        warehouse,
        as_of,
        model=model,
        engine=engine,
        compare_to=compare_to,
        policy=policy,
        tariff=tariff,
    )


def print_train(summary: dict[str, Any], console: Any = None) -> None:
    from careweave.risk.report import print_train as _p

    _p(summary, console)


def print_stratify(summary: dict[str, Any], console: Any = None) -> None:
    from careweave.risk.report import print_stratify as _p

    _p(summary, console)


def default_dates(warehouse: Path, horizon_days: int = 365) -> dict[str, dt.date]:
    """``train_as_of`` (span end - 2 x horizon: the latest date with a full validation year)
    and ``stratify_as_of`` (span end) for the warehouse's span (``_load_batches``)."""
    from careweave.risk.training import warehouse_span
    from careweave.warehouse.engines import DuckDBEngine

    engine = DuckDBEngine.open(Path(warehouse))
    try:
        _, end = warehouse_span(engine)
    finally:
        engine.close()
    return {
        "train_as_of": end - dt.timedelta(days=2 * horizon_days),
        "stratify_as_of": end,
    }
