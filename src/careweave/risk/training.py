"""`careweave model train`: temporal validation, baselines and the model artefact.

:func:`train` fits and validates and returns a :class:`Trained`; :func:`save` writes
the artefact. The model card (careweave.risk.card) is written by the caller
(careweave.risk.train), so this module and the card do not depend on each other.

Train on the cohort alive and registered at D with outcomes in (D, D+h];
validate on the cohort at D+h with its own outcomes in (D+h, D+2h]. The
warehouse must therefore cover D+2h. Nothing from the validation period is
used to fit anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careweave.errors import InputError
from careweave.risk import calibration, codelists, features
from careweave.risk.model import BASELINES, Baseline, Challenger, RiskModel
from careweave.warehouse.engines import DuckDBEngine, Engine

FORMAT = "careweave-risk-model/1"


def warehouse_span(engine: DuckDBEngine) -> tuple[dt.date, dt.date]:
    """The span the warehouse covers: from ``_load_batches``, else from its spells."""
    con = engine.con
    if "_load_batches" in con.list_tables():
        t = con.table("_load_batches")
        row = t.aggregate(a=t.span_start.min(), b=t.span_end.max()).to_pyarrow().to_pylist()[0]
        if row["a"] is not None:
            return _as_date(row["a"]), _as_date(row["b"])
    s = engine.table("hospital_spells")
    row = s.aggregate(a=s.admission_date.min(), b=s.admission_date.max()).to_pyarrow()
    a, b = row.to_pylist()[0].values()
    if a is None:
        raise InputError(
            "warehouse: no hospital spells and no _load_batches: nothing to learn from"
        )
    return _as_date(a), _as_date(b)


def _as_date(v: Any) -> dt.date:
    return v.date() if isinstance(v, dt.datetime) else v


def labelled(engine: Engine, as_of: dt.date, horizon_days: int) -> tuple[pd.DataFrame, Any]:
    """Features at ``as_of`` and the 0/1 outcome over the following horizon."""
    frame = features.compute(engine, as_of)
    admitted = set(
        engine.to_arrow(features.outcome(engine, as_of, horizon_days))["nhs_number"].to_pylist()
    )
    y = frame["nhs_number"].isin(admitted).to_numpy(dtype=np.float64)
    return frame, y


def default_model_dir(warehouse: Path) -> Path:
    return Path(warehouse).resolve().parent / "models"


def _summary(frame: pd.DataFrame, y: Any) -> dict[str, Any]:
    g = calibration.groups(frame)
    return {
        "people": len(frame),
        "outcome_rate": float(np.mean(y)) if len(y) else None,
        "mean_age": float(frame["age"].mean()),
        "by_sex": {k: int(v) for k, v in g["sex"].value_counts().items()},
        "by_age_band": {k: int(v) for k, v in g["age_band"].value_counts().items()},
    }


def fit_all(train: pd.DataFrame, y_train: Any, valid: pd.DataFrame, y_valid: Any) -> dict[str, Any]:
    """Fit the default model, challenger and baselines; validation metrics for each."""
    model = RiskModel().fit(train, y_train)
    p = model.predict(valid)
    cols = [c for c in features.feature_columns()]
    challenger = Challenger().fit(train, y_train, cols)
    baselines = {name: Baseline(name, feat).fit(train, y_train) for name, feat in BASELINES}
    return {
        "model": model,
        "p_valid": p,
        "validation": calibration.metrics(y_valid, p),
        "validation_by_group": calibration.by_group(valid, y_valid, p),
        "training_fit": calibration.metrics(y_train, model.predict(train), topk=False),
        "challenger": calibration.metrics(y_valid, challenger.predict(valid)),
        "baselines": {
            name: calibration.metrics(y_valid, b.predict(valid)) for name, b in baselines.items()
        },
        "baseline_p": {name: b.predict(valid) for name, b in baselines.items()},
        "baselines_by_group": {
            name: calibration.by_group(valid, y_valid, b.predict(valid))
            for name, b in baselines.items()
        },
    }


@dataclass(frozen=True)
class Trained:
    """A trained and validated model, not yet written: what :func:`save` and the card need."""

    path: Path  # where the artefact goes
    summary: dict[str, Any]  # the ``model train --json`` summary
    fitted: dict[str, Any]  # fit_all's models, predictions and metrics
    artefact: dict[str, Any]
    valid_frame: pd.DataFrame
    y_valid: Any


def train(
    warehouse: Path,
    as_of: dt.date,
    *,
    horizon_days: int = 365,
    out: Path | None = None,
) -> Trained:
    """Train and validate (nothing written yet: see :func:`save`)."""
    if horizon_days < 30:
        raise InputError(f"--horizon-days: must be at least 30, got {horizon_days}")
    engine = DuckDBEngine.open(Path(warehouse))
    try:
        start, end = warehouse_span(engine)
        valid_at = as_of + dt.timedelta(days=horizon_days)
        needed = valid_at + dt.timedelta(days=horizon_days)
        if as_of < start or needed > end:
            raise InputError(
                f"--as-of: the warehouse covers {start}..{end}; training at {as_of} with a "
                f"{horizon_days}-day horizon needs data from before {as_of} to {needed} "
                f"(train at D, validate at D + horizon)"
            )
        train_frame, y_train = labelled(engine, as_of, horizon_days)
        valid_frame, y_valid = labelled(engine, valid_at, horizon_days)
    finally:
        engine.close()
    if y_train.sum() < 10 or y_train.sum() == len(y_train):
        raise InputError(
            f"{warehouse}: only {int(y_train.sum())} of {len(y_train)} people have the outcome "
            f"at {as_of}: too few to train"
        )
    fitted = fit_all(train_frame, y_train, valid_frame, y_valid)
    model: RiskModel = fitted["model"]
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    params = {"C": model.c, "columns": model.design.columns}
    digest = hashlib.sha256(
        json.dumps([model.coefficients(), as_of.isoformat(), horizon_days], sort_keys=True).encode()
    ).hexdigest()[:8]
    version = f"{as_of.isoformat()}-{digest}"
    artefact = {
        "format": FORMAT,
        "version": version,
        "created": created,
        "as_of": as_of.isoformat(),
        "validated_at": valid_at.isoformat(),
        "horizon_days": horizon_days,
        "features": list(features.feature_columns()),
        "params": params,
        "coefficients": model.coefficients(),
        "calibration": {
            "slope": fitted["validation"]["calibration_slope"],
            "intercept": fitted["validation"]["calibration_intercept"],
            "curve": calibration.calibration_curve(y_valid, fitted["p_valid"]),
        },
        "training_data": {
            "warehouse_span": [start.isoformat(), end.isoformat()],
            "train": _summary(train_frame, y_train),
            "validation": _summary(valid_frame, y_valid),
        },
        "code_lists": codelists.versions(),
        "model": model,
    }
    path = Path(out) if out else default_model_dir(warehouse) / f"risk-model-{as_of}.pkl"
    summary = {
        "model": str(path),
        "version": version,
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "cohort": {
            "train_people": len(train_frame),
            "validation_people": len(valid_frame),
            "train_outcome_rate": float(y_train.mean()),
            "validation_outcome_rate": float(y_valid.mean()),
        },
        "validation": fitted["validation"],
        "challenger": {"name": "lightgbm", **fitted["challenger"]},
        "baselines": fitted["baselines"],
        "beats_every_baseline": all(
            (fitted["validation"]["auroc"] or 0) > (b["auroc"] or 0)
            for b in fitted["baselines"].values()
        ),
    }
    return Trained(path, summary, fitted, artefact, valid_frame, y_valid)


def save(trained: Trained) -> Path:
    """Write the artefact to ``trained.path`` atomically (a temporary file, then renamed)."""
    path = trained.path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(trained.artefact, f)
    tmp.replace(path)
    return path


def load_model(path: Path) -> dict[str, Any]:
    """A model artefact written by :func:`train`; InputError if it is not one.

    Artefacts are Python pickles: load only files you (or your team) trained.
    """
    try:
        with open(path, "rb") as f:
            art = pickle.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except Exception as e:
        raise InputError(f"{path}: not a Careweave model artefact ({e})") from None
    if not isinstance(art, dict) or art.get("format") != FORMAT:
        raise InputError(f"{path}: not a Careweave model artefact (format {FORMAT} expected)")
    return art


def latest_model(warehouse: Path) -> Path:
    d = default_model_dir(warehouse)
    found = sorted(d.glob("risk-model-*.pkl"))
    if not found:
        raise InputError(
            f"--model: no model given and none in {d}: run `careweave model train` first"
        )
    return found[-1]
