"""Validation metrics: discrimination, calibration and top-k flagging, overall and by group.

Calibration slope is the coefficient of a logistic regression of the outcome
on the predicted log-odds; the calibration intercept is calibration-in-the-
large (the intercept with the log-odds as an offset, slope fixed at 1). A
well-calibrated model has slope 1 and intercept 0 (Van Calster et al., 2019).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

TOP_PERCENTS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
EPS = 1e-6

Array = npt.NDArray[np.float64]


def logit(p: Array) -> Array:
    q = np.clip(p, EPS, 1 - EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


def _newton(x: Array, y: Array, offset: Array, with_slope: bool) -> tuple[float, float]:
    """Maximum-likelihood (intercept, slope) of y ~ intercept + slope*x + offset."""
    a, b = 0.0, 1.0 if not with_slope else 0.0
    for _ in range(50):
        eta = a + (b * x if with_slope else 0.0) + offset
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p) + 1e-12
        r = y - p
        if with_slope:
            g = np.array([r.sum(), (r * x).sum()])
            h = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
            step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
            a, b = a + step[0], b + step[1]
            if np.abs(step).max() < 1e-10:
                break
        else:
            step_a = r.sum() / w.sum()
            a += step_a
            if abs(step_a) < 1e-10:
                break
    return float(a), float(b)


def calibration_slope_intercept(y: Array, p: Array) -> tuple[float, float]:
    """(slope, intercept) as defined in the module docstring."""
    lp = logit(p)
    _, slope = _newton(lp, y, np.zeros_like(lp), with_slope=True)
    intercept, _ = _newton(lp, y, lp, with_slope=False)
    return slope, intercept


def top_k(y: Array, score: Array, percents: tuple[float, ...] = TOP_PERCENTS) -> dict[str, Any]:
    """PPV, sensitivity and number flagged at each top-k% of ``score`` (ties by order)."""
    order = np.argsort(-score, kind="stable")
    total = y.sum()
    out: dict[str, Any] = {}
    for pct in percents:
        n = math.ceil(len(y) * pct / 100)
        hit = y[order[:n]]
        out[f"{pct:g}"] = {
            "flagged": int(n),
            "ppv": float(hit.mean()) if n else None,
            "sensitivity": float(hit.sum() / total) if total else None,
        }
    return out


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def metrics(y: Array, p: Array, *, topk: bool = True) -> dict[str, Any]:
    """AUROC, AUPRC, Brier, calibration slope and intercept, outcome rate and top-k."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    both = 0 < y.sum() < len(y)
    slope, intercept = calibration_slope_intercept(y, p) if both else (math.nan, math.nan)
    out: dict[str, Any] = {
        "people": len(y),
        "outcome_rate": float(y.mean()) if len(y) else math.nan,
        "auroc": float(roc_auc_score(y, p)) if both else math.nan,
        "auprc": float(average_precision_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else math.nan,
        "calibration_slope": slope,
        "calibration_intercept": intercept,
    }
    out = {k: (_finite(v) if isinstance(v, float) else v) for k, v in out.items()}
    if topk:
        out["top"] = top_k(y, p)
    return out


AGE_BANDS = (
    (0, 17, "0-17"),
    (18, 64, "18-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
    (85, 200, "85+"),
)


def age_band(age: pd.Series) -> pd.Series:
    bins = [-1] + [hi for _, hi, _ in AGE_BANDS]
    labels = [lab for *_, lab in AGE_BANDS]
    return pd.cut(age, bins=bins, labels=labels).astype(str)


def deprivation_quintile(decile: pd.Series) -> pd.Series:
    q = ((decile + 1) // 2).astype(int).astype(str)
    return q.where(decile > 0, "unknown")


def groups(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The fairness groupings of a feature frame: sex, age band, deprivation quintile, ethnicity."""
    return {
        "sex": frame["sex"].astype(str),
        "age_band": age_band(frame["age"]),
        "deprivation_quintile": deprivation_quintile(frame["deprivation_decile"]),
        "ethnic_group": frame["ethnic_group"].astype(str),
    }


def by_group(frame: pd.DataFrame, y: Array, p: Array) -> dict[str, dict[str, Any]]:
    """Metrics within each group; top-k uses the whole cohort's flags (who is flagged overall)."""
    order = np.argsort(-p, kind="stable")
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(len(p))
    out: dict[str, dict[str, Any]] = {}
    for name, labels in groups(frame).items():
        out[name] = {}
        for value in sorted(labels.unique()):
            mask = (labels == value).to_numpy()
            m = metrics(y[mask], p[mask], topk=False)
            m["top"] = {}
            for pct in TOP_PERCENTS:
                flagged = mask & (rank < math.ceil(len(p) * pct / 100))
                n = int(flagged.sum())
                m["top"][f"{pct:g}"] = {
                    "flagged": n,
                    "ppv": _finite(float(y[flagged].mean())) if n else None,
                    "sensitivity": _finite(float(y[flagged].sum() / y[mask].sum()))
                    if y[mask].sum()
                    else None,
                }
            out[name][value] = m
    return out


def calibration_curve(y: Any, p: Any, bins: int = 10) -> list[dict[str, float]]:
    """Observed vs predicted by tenth of predicted risk."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            out.append(
                {
                    "predicted": float(np.mean(p[chunk])),
                    "observed": float(np.mean(y[chunk])),
                    "people": len(chunk),
                }
            )
    return out
