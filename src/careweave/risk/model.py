"""The default explainable model, its gradient-boosted challenger and the baselines.

Default: an L2-regularised logistic regression on a design matrix of
- natural-cubic-like B-splines (scikit-learn SplineTransformer) of age and of
  log(1 + count) for the activity counts and scores, so risk can bend;
- the register flags, sex, deprivation quintile, care home, social care;
- the interactions that matter clinically: age x number of long-term
  conditions, age x prior emergency admissions, frailty (eFI) x admissions.

Every design column belongs to one *driver* (a group of columns from one
source feature); an interaction column is shared half-and-half between its
two drivers. The log-odds is then a sum of driver contributions, which is what
careweave.risk.explain turns into plain English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer

from careweave.risk import codelists

Array = npt.NDArray[np.float64]

#: Count-like features given a spline on log(1 + x), with the driver they feed.
SPLINED = {
    "emergency_admissions_12m": "emergency_admissions",
    "emergency_admissions_24m": "emergency_admissions",
    "emergency_bed_days_12m": "emergency_bed_days",
    "ae_attendances_12m": "ae_attendances",
    "ltc_count": "ltc_count",
    "medicines_6m": "medicines",
    "hfrs": "hfrs",
    "efi_deficits": "efi",
}
#: Features used as they are (0/1 flags or small counts), with their driver.
LINEAR = {
    "emergency_admissions_6m": "emergency_admissions",
    "emergency_readmissions_12m": "readmissions",
    "ae_attendances_6m": "ae_attendances",
    "outpatient_attendances_12m": "outpatient_attendances",
    "outpatient_dnas_12m": "outpatient_dnas",
    "social_care_package": "social_care_package",
    "care_home": "care_home",
    "telehealth_alerts_90d": "telehealth_alerts",
    "charlson": "charlson",
}
INTERACTIONS = (
    ("age", "ltc_count"),
    ("age", "emergency_admissions_12m"),
    ("efi_deficits", "emergency_admissions_12m"),
)


def _driver(feature: str) -> str:
    if feature == "age":
        return "age"
    return SPLINED.get(feature) or LINEAR.get(feature) or feature


def register_features() -> list[str]:
    return [f"reg_{r}" for r in codelists.registers()]


@dataclass
class Design:
    """Turns a feature frame into the model's matrix; remembers its fitted splines."""

    splines: dict[str, SplineTransformer] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    drivers: list[dict[str, float]] = field(default_factory=list)
    mean: Array | None = None
    scale: Array | None = None

    @staticmethod
    def _scaled(frame: pd.DataFrame, name: str) -> Array:
        x = frame[name].to_numpy(dtype=np.float64)
        out = x / 100.0 if name == "age" else np.log1p(np.maximum(x, 0))
        return np.asarray(out, dtype=np.float64)

    def fit(self, frame: pd.DataFrame) -> Design:
        for name in ["age", *SPLINED]:
            st = SplineTransformer(n_knots=5, degree=3, knots="quantile", include_bias=False)
            x = self._scaled(frame, name)
            # Quantile knots collapse on zero-heavy counts: use uniform knots instead.
            if len(np.unique(np.quantile(x, np.linspace(0, 1, 5)))) < 5:
                st = SplineTransformer(n_knots=4, degree=3, knots="uniform", include_bias=False)
            self.splines[name] = st.fit(x.reshape(-1, 1))
        raw = self._raw(frame, fit=True)
        self.mean = raw.mean(axis=0)
        sd = raw.std(axis=0)
        self.scale = np.where(sd > 0, sd, 1.0)
        return self

    def _raw(self, frame: pd.DataFrame, fit: bool = False) -> Array:
        cols: list[Array] = []
        names: list[str] = []
        drivers: list[dict[str, float]] = []

        def add(values: Array, name: str, driver: dict[str, float]) -> None:
            cols.append(values)
            names.append(name)
            drivers.append(driver)

        for name, st in self.splines.items():
            basis = st.transform(self._scaled(frame, name).reshape(-1, 1))
            for j in range(basis.shape[1]):
                add(basis[:, j], f"{name}:s{j}", {_driver(name): 1.0})
        for name in LINEAR:
            add(frame[name].to_numpy(dtype=np.float64), name, {_driver(name): 1.0})
        for name in register_features():
            driver = name.removeprefix("reg_")
            add(frame[name].to_numpy(dtype=np.float64), name, {driver: 1.0})
        add((frame["sex"] == "male").to_numpy(dtype=np.float64), "sex_male", {"sex": 1.0})
        dec = frame["deprivation_decile"].to_numpy(dtype=np.float64)
        for q in range(1, 5):  # quintile 5 (least deprived) is the reference
            add(((dec + 1) // 2 == q).astype(np.float64), f"deprivation_q{q}", {"deprivation": 1.0})
        add((dec == 0).astype(np.float64), "deprivation_unknown", {"deprivation": 1.0})
        for a, b in INTERACTIONS:
            xa, xb = self._scaled(frame, a), self._scaled(frame, b)
            add(xa * xb, f"{a}*{b}", {_driver(a): 0.5, _driver(b): 0.5})
        if fit:
            self.columns, self.drivers = names, drivers
        out = np.empty((len(frame), len(cols)), dtype=np.float64, order="F")
        for j, values in enumerate(cols):
            out[:, j] = values  # column-major: each column is one contiguous copy
        return out

    def transform(self, frame: pd.DataFrame) -> Array:
        assert self.mean is not None and self.scale is not None
        x = self._raw(frame)
        x -= self.mean
        x /= self.scale
        return x

    def driver_names(self) -> list[str]:
        seen: dict[str, None] = {}
        for d in self.drivers:
            for k in d:
                seen[k] = None
        return list(seen)

    def driver_matrix(self) -> Array:
        """Columns x drivers: the share of each design column given to each driver."""
        names = self.driver_names()
        m = np.zeros((len(self.columns), len(names)))
        for i, d in enumerate(self.drivers):
            for k, share in d.items():
                m[i, names.index(k)] = share
        return m


@dataclass
class RiskModel:
    """Regularised logistic regression over :class:`Design`."""

    c: float = 0.3
    design: Design = field(default_factory=Design)
    lr: LogisticRegression | None = None

    def fit(self, frame: pd.DataFrame, y: Array) -> RiskModel:
        self.design = Design().fit(frame)
        x = self.design.transform(frame)
        self.lr = LogisticRegression(C=self.c, max_iter=2000)
        self.lr.fit(x, y)
        return self

    def log_odds(self, frame: pd.DataFrame) -> Array:
        assert self.lr is not None
        x = self.design.transform(frame)
        return x @ self.lr.coef_[0] + self.lr.intercept_[0]  # type: ignore[no-any-return]

    def predict(self, frame: pd.DataFrame) -> Array:
        return 1 / (1 + np.exp(-self.log_odds(frame)))

    def contributions(self, frame: pd.DataFrame) -> tuple[list[str], Array]:
        """(driver names, people x drivers log-odds contributions vs the average person).

        Exact: the contributions of a person add up to their log-odds minus the
        log-odds of a design row of training means (all-zero after scaling).
        """
        assert self.lr is not None
        x = self.design.transform(frame)
        per_col = x * self.lr.coef_[0]
        return self.design.driver_names(), per_col @ self.design.driver_matrix()

    def predict_and_contributions(self, frame: pd.DataFrame) -> tuple[Array, list[str], Array]:
        """:meth:`predict` and :meth:`contributions` from one design matrix (built once)."""
        assert self.lr is not None
        x = self.design.transform(frame)
        p = 1 / (1 + np.exp(-(x @ self.lr.coef_[0] + self.lr.intercept_[0])))
        contrib = (x * self.lr.coef_[0]) @ self.design.driver_matrix()
        return p, self.design.driver_names(), contrib

    def coefficients(self) -> dict[str, float]:
        assert self.lr is not None
        out = {"intercept": float(self.lr.intercept_[0])}
        out.update(
            {c: float(v) for c, v in zip(self.design.columns, self.lr.coef_[0], strict=True)}
        )
        return out


def numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> Array:
    x = frame[columns].to_numpy(dtype=np.float64)
    male = (frame["sex"] == "male").to_numpy(dtype=np.float64).reshape(-1, 1)
    return np.hstack([x, male])


@dataclass
class Challenger:
    """Gradient-boosted trees (LightGBM) on the raw features."""

    columns: list[str] = field(default_factory=list)
    booster: Any = None
    params: dict[str, Any] = field(
        default_factory=lambda: {
            "n_estimators": 200,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_child_samples": 50,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "random_state": 0,
            "verbose": -1,
            "n_jobs": 1,  # threads busy-wait on a shared 2-core machine
        }
    )

    def fit(self, frame: pd.DataFrame, y: Array, columns: list[str]) -> Challenger:
        import lightgbm as lgb

        self.columns = columns
        self.booster = lgb.LGBMClassifier(**self.params)
        self.booster.fit(numeric_matrix(frame, columns), y)
        return self

    def predict(self, frame: pd.DataFrame) -> Array:
        p = self.booster.predict_proba(numeric_matrix(frame, self.columns))[:, 1]
        return np.asarray(p, dtype=np.float64)


@dataclass
class Baseline:
    """One-feature logistic model: the old ways of picking people (age, prior admissions, ...)."""

    name: str
    feature: str
    spline: SplineTransformer | None = None
    lr: LogisticRegression | None = None

    def _x(self, frame: pd.DataFrame) -> Array:
        x = frame[self.feature].to_numpy(dtype=np.float64).reshape(-1, 1)
        if self.feature != "age":
            x = np.log1p(np.maximum(x, 0))
        if self.spline is not None:
            return np.asarray(self.spline.transform(x), dtype=np.float64)
        return np.asarray(x, dtype=np.float64)

    def fit(self, frame: pd.DataFrame, y: Array) -> Baseline:
        if self.feature == "age":
            raw = frame["age"].to_numpy(dtype=np.float64).reshape(-1, 1)
            self.spline = SplineTransformer(n_knots=5, degree=3).fit(raw)
        self.lr = LogisticRegression(C=1e4, max_iter=2000).fit(self._x(frame), y)
        return self

    def predict(self, frame: pd.DataFrame) -> Array:
        assert self.lr is not None
        return np.asarray(self.lr.predict_proba(self._x(frame))[:, 1], dtype=np.float64)


BASELINES = (
    ("age", "age"),
    ("prior_emergency_admissions", "emergency_admissions_12m"),
    ("charlson", "charlson"),
    ("hfrs", "hfrs"),
)
