"""Person-based capitation: next-year cost from age, sex, deprivation and conditions.

The approach of England's person-based resource allocation (and ACG resource
bands): a linear model of each registered person's cost over the next 365
days, fitted on people, so that a practice's or locality's budget is the sum
of the predictions over its registered list.

**Data.** For a date X: everyone in the registered population on X
(:func:`careweave.definitions.population.registered_at`), their practice and
locality (the measures' groups, :class:`careweave.measures.context.Context`),
their cost over (X, X + 365 days] under the tariff
(:func:`careweave.definitions.costs.spend`, the same cost as every measure;
people who die or leave in the year keep what they cost until then).

**Predictors.** NHS five-year age band x sex on X (38 cells; age from exact
birthdays), deprivation quintile (decile 1-2 -> 1 most deprived; unknown its
own level) and one flag per disease register with evidence covering X
(:func:`careweave.definitions.registers.registers_at`). Ordinary least squares
(:func:`ols`): unbiased for group totals, the property an allocation needs (on
the data it is fitted to, the predictions add up to the actual total).

**Temporal validation.** With A = as-of - 365 days and T = A - 365 days: a model
fitted on (predictors at T, cost over (T, A]) predicts the cost over (A, as-of] from
the predictors at A; the model card gives R² and mean absolute error of those
predictions, overall and by age band, sex, deprivation quintile and locality,
with each group's predicted and actual totals. Those predictions are also the
**validation year's capitated budgets**, set against what was actually spent,
per practice and locality, in total and per head (per person registered at A).

**Budgets.** The model refitted on (predictors at A, cost over (A, as-of]) predicts
each person registered on the as-of date; a practice's and a locality's capitated
budget for the year after it is the sum over their registered people, and the
whole board's is the **modelled total** (or ``total`` when one is given: every
budget scaled by total / modelled total, so the shares are the model's and the
sum is the envelope). Needs two years of data before the as-of date.

Results go to the warehouse: ``capitation_budgets`` (one row per period x level x
unit) and ``capitation_model_card`` (one row per group), replacing the rows of the
same as-of date.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careweave.dataset.tariff import Tariff, default_tariff
from careweave.definitions import costs
from careweave.definitions.dates import age_at, lit
from careweave.definitions.population import NHS_FIVE_YEAR, PROFILE
from careweave.definitions.registers import registers_at
from careweave.errors import InputError
from careweave.measures.context import Context, Months

YEAR = dt.timedelta(days=365)
BUDGETS_TABLE = "capitation_budgets"
CARD_TABLE = "capitation_model_card"
LEVELS = ("board", "locality", "practice")
BUDGETS_DDL = """
    as_of DATE NOT NULL,
    period VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    level VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    people BIGINT NOT NULL,
    capitated DOUBLE NOT NULL,
    actual DOUBLE,
    tariff VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL
"""
CARD_DDL = """
    as_of DATE NOT NULL,
    group_by VARCHAR NOT NULL,
    group_value VARCHAR NOT NULL,
    people BIGINT NOT NULL,
    r2 DOUBLE,
    mae DOUBLE,
    actual_total DOUBLE NOT NULL,
    predicted_total DOUBLE NOT NULL,
    computed_at TIMESTAMP NOT NULL
"""
CARD_GROUPS = ("all", "age_band", "sex", "deprivation_quintile", "locality")


def people_at(engine: Any, tariff: Tariff, at: dt.date, cost: bool = True) -> pd.DataFrame:
    """One row per person registered on ``at``: nhs_number, practice, locality, age_band
    (NHS five-year), profile_band, sex, deprivation_quintile, reg_* (0/1) and, when ``cost``,
    their cost over (at, at + 365 days]."""
    ctx = Context(
        engine,
        Months.inside(at, at),
        tariff,
        ("practice", "locality", "sex", "deprivation_quintile"),
        (),
        at,
    )
    p = ctx.people()
    d = lit(at)
    p = p.filter(p.pop_from <= d, p.pop_to > d)
    p = p.select(
        "nhs_number",
        practice=p.dim_practice,
        locality=p.dim_locality,
        sex=p.dim_sex,
        deprivation_quintile=p.dim_deprivation_quintile,
        age=age_at(p.date_of_birth, d).cast("int64"),
    )
    regs = registers_at(engine, at)
    p = p.left_join(regs, "nhs_number").drop("nhs_number_right")
    if cost:
        s = costs.spend(engine, tariff, at, at + YEAR)
        p = p.left_join(s, "nhs_number").drop("nhs_number_right")
    frame = engine.to_arrow(p.order_by("nhs_number")).to_pandas()
    reg_cols = [c for c in frame.columns if c.startswith("reg_")]
    frame[reg_cols] = frame[reg_cols].fillna(0).astype(np.int8)
    if cost:
        frame["spend"] = frame["spend"].fillna(0.0).astype(np.float64)
    age = frame.pop("age").to_numpy()
    frame["age_band"] = np.asarray(NHS_FIVE_YEAR.label(age), dtype=object)
    frame["profile_band"] = np.asarray(PROFILE.label(age), dtype=object)
    if not frame["nhs_number"].is_monotonic_increasing:  # the engine sorted it: checked
        frame = frame.sort_values("nhs_number", kind="stable")
    return frame.reset_index(drop=True)


@dataclass
class Design:
    """The predictors' columns: age band x sex cells, deprivation quintiles, registers."""

    cells: list[str]
    quintiles: list[str]
    registers: list[str]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Design:
        cells = [f"{b}|{s}" for b in NHS_FIVE_YEAR.labels for s in ("female", "male")]
        quintiles = ["1", "2", "3", "4", "5", "unknown"]
        regs = sorted(c for c in frame.columns if c.startswith("reg_"))
        return cls(cells, quintiles, regs)

    @property
    def names(self) -> list[str]:
        # the first cell and the first quintile are the reference levels (the intercept)
        return [
            *(f"age_sex:{c}" for c in self.cells[1:]),
            *(f"deprivation_quintile:{q}" for q in self.quintiles[1:]),
            *self.registers,
        ]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        n = len(frame)
        # the cell "band|sex" is number band * 2 + (1 if male else 0) in self.cells
        band = np.asarray(
            pd.Categorical(frame["age_band"].to_numpy(), categories=NHS_FIVE_YEAR.labels).codes,
            dtype=np.int64,
        )
        male = frame["sex"].to_numpy() == "male"
        codes = np.where(band >= 0, band * 2 + male, -1)
        quint = pd.Categorical(frame["deprivation_quintile"].to_numpy(), categories=self.quintiles)
        x = np.zeros((n, len(self.names)), dtype=np.float32)
        k = len(self.cells) - 1
        rows = np.nonzero(codes > 0)[0]
        x[rows, codes[rows] - 1] = 1.0
        q = np.asarray(quint.codes)
        q = np.where(q < 0, len(self.quintiles) - 1, q)  # anything else: unknown
        rows = np.nonzero(q > 0)[0]
        x[rows, k + q[rows] - 1] = 1.0
        for j, r in enumerate(self.registers):
            col = frame[r].to_numpy() if r in frame else np.zeros(n)
            x[:, k + len(self.quintiles) - 1 + j] = col
        return x


@dataclass
class Model:
    """A fitted capitation model: intercept and one coefficient per predictor."""

    design: Design
    intercept: float
    coefficients: np.ndarray
    fitted_on: dt.date

    @classmethod
    def fit(cls, frame: pd.DataFrame, at: dt.date) -> Model:
        design = Design.of(frame)
        intercept, coefficients = ols(design.matrix(frame), frame["spend"].to_numpy(np.float64))
        return cls(design, intercept, coefficients, at)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        out: np.ndarray = self.design.matrix(frame).astype(np.float64) @ self.coefficients
        return out + self.intercept

    def coefficient_table(self) -> dict[str, float]:
        return {
            "intercept": self.intercept,
            **dict(zip(self.design.names, self.coefficients, strict=True)),
        }


#: Rows of the model matrix turned to float64 at a time in :func:`ols`.
OLS_CHUNK = 1 << 18


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Ordinary least squares with an intercept: (intercept, coefficients).

    The centred normal equations, accumulated in float64 over chunks of rows and
    solved by :func:`numpy.linalg.lstsq` (SVD, minimum norm when the design is
    rank-deficient, e.g. an age-sex cell nobody is in): the same solution as
    scikit-learn's ``LinearRegression`` (which centres, then runs lstsq on the whole
    n x k matrix), without the SVD of a million rows. The predictors are 0/1
    indicators, so the normal equations are well conditioned and the cross-products
    are exact counts. With the intercept, the predictions add up to the actual total.
    Decided on 1,000,000 people (bench/bench_finance.py): the two fits took 5 s of CPU
    in ``LinearRegression``'s lstsq and 4 s importing scikit-learn; this is well under
    a second for both."""
    n, k = x.shape
    if n == 0:
        return 0.0, np.zeros(k)
    xtx, xty, sx = np.zeros((k, k)), np.zeros(k), np.zeros(k)
    for i in range(0, n, OLS_CHUNK):
        c = np.asarray(x[i : i + OLS_CHUNK], dtype=np.float64)
        xtx += c.T @ c
        xty += c.T @ y[i : i + OLS_CHUNK]
        sx += c.sum(axis=0)
    mx, my = sx / n, float(y.mean())
    coef = np.linalg.lstsq(xtx - n * np.outer(mx, mx), xty - n * mx * my, rcond=None)[0]
    return my - float(mx @ coef), np.asarray(coef, dtype=np.float64)


def _r2(y: np.ndarray, p: np.ndarray) -> float | None:
    ss = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    return None if ss == 0 else 1.0 - float(((y - p) ** 2).sum()) / ss


def model_card(frame: pd.DataFrame, predicted: np.ndarray) -> pd.DataFrame:
    """R², mean absolute error and the predicted and actual totals, for everyone (group_by
    ``all``) and by age band (profile bands), sex, deprivation quintile and locality."""
    y = frame["spend"].to_numpy(dtype=np.float64)
    rows = []
    for g in CARD_GROUPS:
        col = "profile_band" if g == "age_band" else g
        values = np.full(len(frame), "all", dtype=object) if g == "all" else frame[col].to_numpy()
        for v in sorted(set(values.tolist())):
            m = values == v
            yy, pp = y[m], predicted[m]
            rows.append(
                {
                    "group_by": g,
                    "group_value": str(v),
                    "people": int(m.sum()),
                    "r2": _r2(yy, pp),
                    "mae": float(np.abs(yy - pp).mean()),
                    "actual_total": float(yy.sum()),
                    "predicted_total": float(pp.sum()),
                }
            )
    return pd.DataFrame(rows)


def budgets(
    frame: pd.DataFrame, predicted: np.ndarray, actual: np.ndarray | None = None
) -> pd.DataFrame:
    """level (board|locality|practice), unit, people, capitated (the sum of the predictions
    over the unit's registered people) and actual (their cost, when known)."""
    data = pd.DataFrame(
        {
            "practice": frame["practice"].to_numpy(),
            "locality": frame["locality"].to_numpy(),
            "board": "all",
            "capitated": predicted,
            "actual": np.nan if actual is None else actual,
        }
    )
    parts = []
    for level in LEVELS:
        g = data.groupby(level, sort=True).agg(
            people=("capitated", "size"),
            capitated=("capitated", "sum"),
            actual=("actual", "sum" if actual is not None else "first"),
        )
        g = g.reset_index().rename(columns={level: "unit"})
        g.insert(0, "level", level)
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


@dataclass
class Capitation:
    """One run of :func:`capitation`."""

    as_of: dt.date
    validation: pd.DataFrame  # budgets against actual, the validation year (A, as-of]
    budget: pd.DataFrame  # budgets for the year after as-of
    card: pd.DataFrame  # model card (temporal validation)
    model: Model  # the refitted model the budgets come from
    modelled_total: float
    total: float  # the budgets' sum: modelled_total, or the envelope given
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def periods(self) -> dict[str, tuple[dt.date, dt.date]]:
        """First and last day of each period."""
        a = self.as_of - YEAR
        one = dt.timedelta(days=1)
        return {
            "validation": (a + one, self.as_of),
            "budget": (self.as_of + one, self.as_of + YEAR),
        }


def capitation(
    engine: Any,
    as_of: dt.date,
    tariff: Tariff | None = None,
    *,
    total: float | None = None,
    span_start: dt.date | None = None,
) -> Capitation:
    """Fit, validate and apply the capitation model (see the module's docstring)."""
    tariff = tariff or default_tariff()
    a = as_of - YEAR
    t = a - YEAR
    if span_start is not None and t < span_start:
        raise InputError(
            f"--as-of {as_of}: capitation needs two years of data before it "
            f"(from {t}); the warehouse starts {span_start}"
        )
    if total is not None and total <= 0:
        raise InputError(f"--total: expected a positive amount, got {total}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    train = people_at(engine, tariff, t)
    valid = people_at(engine, tariff, a)
    now = people_at(engine, tariff, as_of, cost=False)
    timings["data"] = time.perf_counter() - t0
    if train.empty or valid.empty or now.empty:
        raise InputError(f"--as-of {as_of}: nobody registered on {t}, {a} or {as_of}")
    t0 = time.perf_counter()
    first = Model.fit(train, t)
    predicted = first.predict(valid)
    card = model_card(valid, predicted)
    validation = budgets(valid, predicted, valid["spend"].to_numpy(dtype=np.float64))
    model = Model.fit(valid, a)
    ahead = model.predict(now)
    modelled = float(ahead.sum())
    scale = 1.0 if total is None else total / modelled
    budget = budgets(now, ahead * scale)
    timings["fit and budgets"] = time.perf_counter() - t0
    return Capitation(
        as_of,
        validation,
        budget,
        card,
        model,
        modelled,
        modelled * scale,
        timings,
    )


def write(
    warehouse: Path, result: Capitation, tariff_id: str, at: dt.datetime | None = None
) -> None:
    """Replace the as-of date's rows of ``capitation_budgets`` and ``capitation_model_card``."""
    from careweave.warehouse import connect

    at = (at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    frames = []
    for period, frame in (("validation", result.validation), ("budget", result.budget)):
        lo, hi = result.periods[period]
        f = frame.copy()
        f.insert(0, "as_of", result.as_of)
        f.insert(1, "period", period)
        f.insert(2, "period_start", lo)
        f.insert(3, "period_end", hi)
        f["tariff"] = tariff_id
        f["computed_at"] = at
        frames.append(f)
    rows = pd.concat(frames, ignore_index=True)
    card = result.card.copy()
    card.insert(0, "as_of", result.as_of)
    card["computed_at"] = at
    con = connect(warehouse)
    try:
        con.execute("BEGIN")
        for name, ddl, frame in ((BUDGETS_TABLE, BUDGETS_DDL, rows), (CARD_TABLE, CARD_DDL, card)):
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
            con.execute(f"DELETE FROM {name} WHERE as_of = ?", [result.as_of])
            con.register("_new_rows", frame)
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _new_rows")
            con.unregister("_new_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def run(
    warehouse: Path,
    as_of: dt.date,
    *,
    tariff: Path | None = None,
    total: float | None = None,
) -> Capitation:
    """:func:`capitation` over the warehouse (DuckDB), its results written to it."""
    from careweave.dataset.tariff import identity, load_tariff
    from careweave.warehouse import warehouse_span
    from careweave.warehouse.engines import DuckDBEngine

    prices = load_tariff(tariff)
    eng = DuckDBEngine.open(Path(warehouse))
    try:
        span = warehouse_span(eng.con.con)
        if span is None:
            raise InputError(f"{warehouse}: no _load_batches, so the span it covers is unknown")
        start, end = (d.date() if isinstance(d, dt.datetime) else d for d in span)
        if as_of > end:
            raise InputError(f"--as-of {as_of} is after the warehouse's last day {end}")
        result = capitation(eng, as_of, prices, total=total, span_start=start)
    finally:
        eng.close()
    write(Path(warehouse), result, identity(prices, tariff))
    return result
