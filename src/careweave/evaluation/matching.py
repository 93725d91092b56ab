"""Risk-set matching: covariates at a date, the two scores, exact strata, nearest
neighbours, and the standardised mean differences of the balance table.

Decisions (docs/evaluation.md):

- Risk sets are **monthly**: people enrolled in a calendar month are matched,
  as at the first day of that month, to people in the registered population
  then, aged 18+, in it for the whole year before, and not enrolled before
  that day (people enrolled later may be controls: risk-set matching; their
  follow-up stops when they are enrolled).
- **Exact** on age band (18-64, 65-74, 75-84, 85+), sex and the band of
  emergency admissions in the year before (0, 1, 2, 3+).
- Within a stratum, the **nearest** ``K`` controls (with replacement) by
  Euclidean distance on the prognostic score and the logit of the propensity
  score, each in standard deviations, within a caliper of ``CALIPER``; a
  person enrolled with no control inside the caliper is left unmatched (and
  counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from careweave.evaluation.data import Arr, Population

#: Controls per person enrolled (with replacement; each weighs 1/K).
K = 3
#: Largest distance, in standard deviations of the two scores, to a control.
CALIPER = 0.2
AGE_BANDS = (18, 65, 75, 85)  # lower bounds: 18-64, 65-74, 75-84, 85+
AGE_BAND_NAMES = ("18-64", "65-74", "75-84", "85+")
PRIOR_BANDS = ("0", "1", "2", "3+")
#: Covariates at the index date, in the order of the balance table.
COVARIATES = (
    "age",
    "female",
    "emergency_admissions_1y",
    "emergency_admissions_2y",
    "emergency_admissions_3y",
    "bed_days_1y",
    "ae_attendances_1y",
    "conditions",
    "deprivation_decile",
)
ADULT = 18


def covariate_names(pop: Population) -> tuple[str, ...]:
    """The balance table's covariates: :data:`COVARIATES`, then one ``reg_<name>``
    indicator per register with evidence in the data."""
    return (*COVARIATES, *(f"reg_{name}" for name in pop.registers))


def covariates(pop: Population, person: Arr, day: Arr) -> dict[str, Arr]:
    """The covariates of ``person`` as at ``day`` (the years before it, day excluded;
    a register's evidence counts when it covers ``day``)."""
    y = 365
    em = pop.emergency
    on_register = {
        f"reg_{name}": (
            starts.total(person, day - 100 * y, day + 1)
            - ends.total(person, day - 100 * y, day + 1)
            > 0
        ).astype(float)
        for name, (starts, ends) in pop.registers.items()
    }
    return on_register | {
        "age": (day - pop.dob[person]) / 365.25,
        "female": pop.female[person].astype(float),
        "emergency_admissions_1y": em.total(person, day - y, day),
        "emergency_admissions_2y": em.total(person, day - 2 * y, day - y),
        "emergency_admissions_3y": em.total(person, day - 3 * y, day - 2 * y),
        "bed_days_1y": pop.bed_days.total(person, day - y, day),
        "ae_attendances_1y": pop.ae.total(person, day - y, day),
        # register evidence intervals covering the day (a proxy for the number of conditions)
        "conditions": pop.reg_start.total(person, day - 100 * y, day + 1)
        - pop.reg_end.total(person, day - 100 * y, day + 1),
        "deprivation_decile": pop.deprivation[person],
    }


def design(cov: dict[str, Arr]) -> Arr:
    """The model matrix of the fallback prognostic and the propensity models."""
    age = cov["age"]
    cols = [cov[c] for c in COVARIATES]
    cols += [cov[c] for c in sorted(cov) if c.startswith("reg_")]
    em = cov["emergency_admissions_1y"] + cov["emergency_admissions_2y"]
    cols += [((age - 65) / 10) ** 2, np.log1p(cov["emergency_admissions_1y"]), np.log1p(em)]
    cols += [np.log1p(cov["emergency_admissions_3y"] + em)]
    return np.column_stack(cols)


def stratum(pop: Population, person: Arr, cov: dict[str, Arr]) -> Arr:
    """Exact-match stratum number: age band x sex x prior emergency band."""
    band = np.searchsorted(np.array(AGE_BANDS[1:]), cov["age"], side="right")
    prior = np.minimum(cov["emergency_admissions_1y"], 3).astype(np.int64)
    return np.asarray((band * 2 + pop.female[person]) * 4 + prior, dtype=np.int64)


def eligible(pop: Population, person: Arr, day: int) -> Arr:
    """In the population on ``day`` and all the year before, adult, not enrolled before."""
    return np.asarray(
        (pop.pop_from[person] <= day - 365)
        & (pop.pop_to[person] > day)
        & (pop.dob[person] <= day - ADULT * 365.25)
        & (pop.enrol[person] >= day)
    )


@dataclass
class Matches:
    """For each match: the treated row, the control row and the control's weight 1/k."""

    treated: Arr
    control: Arr
    weight: Arr


def nearest(
    t_scores: Arr,
    t_strata: Arr,
    c_scores: Arr,
    c_strata: Arr,
    *,
    k: int = K,
    caliper: float = CALIPER,
) -> Matches:
    """Up to ``k`` nearest controls (with replacement) in the same stratum within
    ``caliper`` of each treated row; scores are already in standard deviations."""
    ti, ci, w = [], [], []
    for s in np.unique(t_strata):
        t = np.flatnonzero(t_strata == s)
        c = np.flatnonzero(c_strata == s)
        if not len(c):
            continue
        kk = min(k, len(c))
        dist, pos = cKDTree(c_scores[c]).query(t_scores[t], k=kk)
        dist, pos = dist.reshape(len(t), kk), pos.reshape(len(t), kk)
        ok = dist <= caliper
        n = ok.sum(axis=1)
        rows = np.repeat(t, kk).reshape(len(t), kk)
        ti.append(rows[ok])
        ci.append(c[pos[ok]])
        w.append((1.0 / np.maximum(n, 1))[:, None].repeat(kk, axis=1)[ok])
    if not ti:
        empty = np.zeros(0, dtype=np.int64)
        return Matches(empty, empty, np.zeros(0))
    return Matches(np.concatenate(ti), np.concatenate(ci), np.concatenate(w))


def smd(x_t: Arr, x_c: Arr, w_c: Arr | None = None) -> float:
    """Standardised mean difference: (mean treated - mean control) / sqrt of the
    mean of the two variances (controls weighted by ``w_c``); 0 when both are constant."""
    w = np.ones(len(x_c)) if w_c is None else w_c
    mt, mc = float(np.mean(x_t)), float(np.average(x_c, weights=w))
    vt = float(np.var(x_t))
    vc = float(np.average((x_c - mc) ** 2, weights=w))
    sd = np.sqrt((vt + vc) / 2)
    if sd == 0:
        return 0.0 if mt == mc else float("inf")
    return float((mt - mc) / sd)
