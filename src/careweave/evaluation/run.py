"""The whole evaluation: read, score, match month by month, balance, effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from careweave.errors import InputError
from careweave.evaluation import effects, matching
from careweave.evaluation.data import Arr, Events, Population, date_of, index_of, read

#: A prognostic score from outside (the risk model, composed in by the CLI): given a
#: date, (NHS numbers, score) for the people it scores then, e.g. the risk model's
#: log-odds of an emergency admission in the next year. People it leaves out, or
#: scores NaN, are not evaluated in that month's risk set.
Prognostic = Callable[[dt.date], tuple[Arr, Arr]]
#: The key of the outside score among a risk set's covariates (not a covariate itself).
MODEL_SCORE = "_model_score"

OUTCOMES = ("emergency_admissions", "bed_days", "ae_attendances", "spend", "deaths")
#: Controls sampled per month to fit the prognostic and propensity models.
FIT_SAMPLE = 4000
SEED = 20190101
#: Controls kept per person enrolled in each exact stratum of a month's risk set: a
#: larger stratum is sampled down to this many times its enrolled (seed fixed) before
#: the covariates and scores are computed; strata with nobody enrolled are skipped.
#: The pool is ~2,000 people per person enrolled, mostly in the strata with no prior
#: admission; on 200,000 people this cut the evaluation's CPU time by a third with
#: the same estimate (docs/evaluation.md, Performance).
POOL_PER_TREATED = 500
#: Years of history in the difference-in-differences' before period (where the data has them).
PRE_YEARS = 3
#: The evaluation method's version, stored with each result: bump it whenever the
#: method (covariates, matching, models, outcomes) changes what a result means.
DEFINITION_VERSION = "2026-12-01.1"
#: How the result names the prognostic score when no outside score is given.
FALLBACK = "fallback: Poisson regression of next-year emergency admissions"


@dataclass
class MonthRows:
    person: Arr
    month: Arr  # first day of the risk set's month
    cov: dict[str, Arr]


def _month_start(day: Arr) -> Arr:
    d = day.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    return np.asarray(d.astype(np.int64))


def _rows(pop: Population, person: Arr, m0: int, score: Arr | None = None) -> MonthRows:
    day = np.full(len(person), m0, dtype=np.int64)
    cov = matching.covariates(pop, person, day)
    if score is not None:
        cov[MODEL_SCORE] = score[person]
    return MonthRows(person, day, cov)


def _cat(rows: list[MonthRows]) -> MonthRows:
    return MonthRows(
        np.concatenate([r.person for r in rows]),
        np.concatenate([r.month for r in rows]),
        {k: np.concatenate([r.cov[k] for r in rows]) for k in rows[0].cov},
    )


def _follow_end(pop: Population, person: Arr, start: Arr, follow_up: int, control: bool) -> Arr:
    """End (exclusive) of follow-up: the window, leaving the population, the data's end,
    and for a control being enrolled itself."""
    end = np.minimum(start + follow_up, pop.pop_to[person])
    end = np.minimum(end, pop.last_day + 1)
    if control:
        end = np.minimum(end, pop.enrol[person])
    return np.asarray(end)


class Evaluation:
    """Risk-set matching of the enrolled, then effects on the outcomes asked for."""

    def __init__(
        self, pop: Population, follow_up_days: int, prognostic: Prognostic | None = None
    ) -> None:
        self.pop = pop
        self.follow_up = follow_up_days
        self.outside = prognostic
        self._scores: dict[int, Arr] = {}
        enrol = pop.enrol
        self.t_all = np.flatnonzero((enrol >= pop.first_day + 365) & (enrol <= pop.last_day))
        self.t_month = _month_start(enrol[self.t_all])
        #: Everyone's enrolment month (the data's last month when never enrolled).
        self.enrol_month = _month_start(np.minimum(enrol, pop.last_day))
        self.rng = np.random.default_rng(SEED)

    def _score(self, m0: int) -> Arr | None:
        """The outside prognostic score at ``m0`` by person index (NaN: not scored),
        asked for once a month."""
        if self.outside is None:
            return None
        if m0 not in self._scores:
            ids, score = self.outside(date_of(m0))
            full = np.full(len(self.pop.ids), np.nan)
            who = index_of(self.pop.ids, np.asarray(ids, dtype=object))
            ok = who >= 0
            full[who[ok]] = np.asarray(score, dtype=float)[ok]
            self._scores[m0] = full
        return self._scores[m0]

    def _scored(self, person: Arr, m0: int) -> Arr:
        score = self._score(m0)
        return person if score is None else person[~np.isnan(score[person])]

    def _treated_rows(self, m0: int) -> MonthRows:
        t = self.t_all[self.t_month == m0]
        t = self._scored(t[matching.eligible(self.pop, t, m0)], m0)
        return _rows(self.pop, t, m0, self._score(m0))

    def _pool(self, m0: int) -> Arr:
        everyone = np.arange(len(self.pop.ids))
        pool = everyone[matching.eligible(self.pop, everyone, m0)]
        return self._scored(np.asarray(pool[self.enrol_month[pool] != m0]), m0)

    def _thin(self, pool: Arr, t: MonthRows, m0: int) -> Arr:
        """The pool in the treated's exact strata, each at most POOL_PER_TREATED times
        its treated (a random sample): the strata need only age, sex and the year's
        emergency admissions, so they are cheap to compute for everyone."""
        if not len(t.person):
            return pool
        pop = self.pop
        cheap = {
            "age": (m0 - pop.dob[pool]) / 365.25,
            "emergency_admissions_1y": pop.emergency.total(
                pool, np.full(len(pool), m0 - 365), np.full(len(pool), m0)
            ),
        }
        st_c = matching.stratum(pop, pool, cheap)
        st_t, n_t = np.unique(matching.stratum(pop, t.person, t.cov), return_counts=True)
        # the pool grouped by stratum once (stable: each stratum's members in pool order),
        # rather than a comparison over the whole pool for each stratum
        order = np.argsort(st_c.astype(np.int16), kind="stable")  # a radix sort: < 64 strata
        lo = np.searchsorted(st_c[order], st_t, side="left")
        hi = np.searchsorted(st_c[order], st_t, side="right")
        keep = []
        for a, b, n in zip(lo, hi, n_t, strict=True):
            members = pool[order[a:b]]
            cap = POOL_PER_TREATED * int(n)
            if len(members) > cap:
                members = self.rng.choice(members, size=cap, replace=False)
            keep.append(members)
        return np.sort(np.concatenate(keep)) if keep else pool[:0]

    def fit(self) -> None:
        """The fallback prognostic score (Poisson regression of emergency admissions in
        the next year among controls) and the propensity score (logistic regression of
        enrolment that month), each fitted once on all months."""
        import statsmodels.api as sm
        from sklearn.linear_model import LogisticRegression

        treated, controls = [], []
        for m0 in np.unique(self.t_month):
            treated.append(self._treated_rows(int(m0)))
            pool = self._pool(int(m0))
            pick = self.rng.choice(pool, size=min(FIT_SAMPLE, len(pool)), replace=False)
            controls.append(_rows(self.pop, np.sort(pick), int(m0), self._score(int(m0))))
        t, c = _cat(treated), _cat(controls)
        if not len(t.person):
            raise InputError("no enrolled person can be evaluated (none eligible at enrolment)")
        xc = matching.design(c.cov)
        if self.outside is None:
            end = _follow_end(self.pop, c.person, c.month, 365, control=True)
            y = self.pop.emergency.total(c.person, c.month, end)
            expo = np.maximum(end - c.month, 0) / 365.25
            ok = expo > 0
            self.prog = sm.GLM(
                y[ok],
                sm.add_constant(xc[ok], has_constant="add"),
                family=sm.families.Poisson(),
                offset=np.log(expo[ok]),
            ).fit()
        xt = matching.design(t.cov)
        pt, pc_ = self.prognostic(t.cov, xt), self.prognostic(c.cov, xc)
        x = np.vstack([np.column_stack([xt, pt]), np.column_stack([xc, pc_])])
        self.mu, self.sd = x.mean(axis=0), x.std(axis=0) + 1e-12
        lab = np.concatenate([np.ones(len(pt)), np.zeros(len(pc_))])
        self.prop = LogisticRegression(max_iter=1000).fit((x - self.mu) / self.sd, lab)
        both = np.concatenate([pt, pc_])
        lp = np.concatenate([self.propensity(xt, pt), self.propensity(xc, pc_)])
        self.score_sd = np.array([both.std(), lp.std()]) + 1e-12

    def prognostic(self, cov: dict[str, Arr], x: Arr) -> Arr:
        """The outside score when there is one, else the fallback's linear predictor
        (``x``: the rows' :func:`matching.design`)."""
        if MODEL_SCORE in cov:
            return np.asarray(cov[MODEL_SCORE])
        b = np.asarray(self.prog.params)
        return np.asarray(x @ b[1:] + b[0])

    def propensity(self, x: Arr, prog: Arr) -> Arr:
        """Logit of the propensity score (``x``: the rows' :func:`matching.design`)."""
        z = (np.column_stack([x, prog]) - self.mu) / self.sd
        return np.asarray(self.prop.decision_function(z))

    def match(self) -> dict[str, Any]:
        """Match month by month; the matched sets and the balance table."""
        tr: list[Arr] = []
        co: list[Arr] = []
        wt: list[Arr] = []
        mo: list[Arr] = []
        bal_t: dict[str, list[Arr]] = {}
        bal_c: dict[str, list[Arr]] = {}
        unmatched = 0
        for m0 in np.unique(self.t_month):
            t = self._treated_rows(int(m0))
            pool = self._thin(self._pool(int(m0)), t, int(m0))
            c = _rows(self.pop, pool, int(m0), self._score(int(m0)))
            if not len(t.person) or not len(c.person):
                unmatched += len(t.person)
                continue
            xt, xc = matching.design(t.cov), matching.design(c.cov)
            pt, pc_ = self.prognostic(t.cov, xt), self.prognostic(c.cov, xc)
            lt, lc = self.propensity(xt, pt), self.propensity(xc, pc_)
            st_t = matching.stratum(self.pop, t.person, t.cov)
            st_c = matching.stratum(self.pop, c.person, c.cov)
            m = matching.nearest(
                np.column_stack([pt, lt]) / self.score_sd,
                st_t,
                np.column_stack([pc_, lc]) / self.score_sd,
                st_c,
            )
            unmatched += len(t.person) - len(np.unique(m.treated))
            tr.append(t.person[m.treated])
            co.append(c.person[m.control])
            wt.append(m.weight)
            mo.append(np.full(len(m.treated), m0))
            extra_t = {"prognostic_score": pt, "propensity_logit": lt}
            extra_c = {"prognostic_score": pc_, "propensity_logit": lc}
            for k in (*matching.covariate_names(self.pop), *extra_t):
                vt = t.cov[k] if k in t.cov else extra_t[k]
                vc = c.cov[k] if k in c.cov else extra_c[k]
                bal_t.setdefault(k, []).append(vt[np.unique(m.treated)])
                bal_c.setdefault(k, []).append(vc[m.control])
        self.treated = np.concatenate(tr)
        self.control = np.concatenate(co)
        self.weight = np.concatenate(wt)
        self.month = np.concatenate(mo)
        w = self.weight
        balance = (
            {k: matching.smd(np.concatenate(bal_t[k]), np.concatenate(bal_c[k]), w) for k in bal_t}
            if len(w)
            else {}
        )
        return {"balance": balance, "unmatched": unmatched}

    def _pre_start(self, person: Arr, m0: Arr) -> Arr:
        """Start of the before period: up to PRE_YEARS before the month, no earlier than
        the person's entry to the population or the data's first day."""
        lo = np.maximum(m0 - 365 * PRE_YEARS, self.pop.pop_from[person])
        return np.asarray(np.maximum(lo, self.pop.first_day))

    def outcome(self, name: str) -> effects.Effect:
        """One outcome's effect. Each matched set (a person enrolled and their k
        controls) gives two units: the person, and the controls' weighted sums
        (each control 1/k) of events and days at risk, clustered by the set."""
        pop = self.pop
        sets, inv = np.unique(
            np.column_stack([self.treated, self.month]), axis=0, return_inverse=True
        )
        inv = inv.ravel()
        tp, tm = sets[:, 0], sets[:, 1]
        start = pop.enrol[tp]
        c_start = start[inv]  # a control's follow-up starts on its treated person's day
        t_end = _follow_end(pop, tp, start, self.follow_up, control=False)
        c_end = _follow_end(pop, self.control, c_start, self.follow_up, control=True)
        t_exp = np.maximum(t_end - start, 0).astype(float)
        c_exp = np.maximum(c_end - c_start, 0).astype(float)
        n = len(tp)
        w = self.weight

        def pooled(values: Arr) -> Arr:
            return np.bincount(inv, weights=w * values, minlength=n)

        is_t = np.concatenate([np.ones(n), np.zeros(n)])
        cluster = np.concatenate([np.arange(n), np.arange(n)])
        exp_post = np.concatenate([t_exp, pooled(c_exp)])
        if name == "deaths":
            # follow-up ends on the day of death (pop_to), so a death is on or before the end
            t_d = ((pop.death[tp] >= start) & (pop.death[tp] <= t_end)).astype(float)
            cd = pop.death[self.control]
            c_d = ((cd >= c_start) & (cd <= c_end)).astype(float)
            y = np.concatenate([t_d, pooled(c_d)])
            return effects.rate_ratio(y, exp_post, is_t, cluster)
        ev: Events | None = {
            "emergency_admissions": pop.emergency,
            "bed_days": pop.bed_days,
            "ae_attendances": pop.ae,
            "spend": pop.spend,
        }[name]
        assert ev is not None
        t_lo = self._pre_start(tp, tm)
        c_lo = self._pre_start(self.control, self.month)
        y_pre = np.concatenate(
            [
                ev.total(tp, t_lo, tm),
                pooled(ev.total(self.control, c_lo, self.month)),
            ]
        )
        y_post = np.concatenate(
            [
                ev.total(tp, start, t_end),
                pooled(ev.total(self.control, c_start, c_end)),
            ]
        )
        exp_pre = np.concatenate(
            [(tm - t_lo).astype(float), pooled((self.month - c_lo).astype(float))]
        )
        # naive: the enrolled people's follow-up rate against their own year before
        before = ev.total(tp, tm - 365, tm).sum() / (365.0 * n)
        after = y_post[:n].sum() / max(t_exp.sum(), 1.0)
        naive = float(after / before - 1) if before > 0 else None
        return effects.did(y_pre, y_post, exp_pre, exp_post, is_t, cluster, naive)


def evaluate(
    engine: Any,
    *,
    intervention: str = "case_management",
    outcomes: tuple[str, ...] = OUTCOMES,
    follow_up_days: int = 365,
    prognostic: Prognostic | None = None,
    prognostic_source: str = "",
) -> dict[str, Any]:
    """The evaluation's summary (the ``--json`` document, plus the balance table).

    ``prognostic``: the score to match on (the risk model's prediction at each risk
    set's date), named by ``prognostic_source``; None: the documented fallback (a
    Poisson regression fitted here)."""
    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise InputError(f"--outcome: {bad[0]!r} is not one of {', '.join(OUTCOMES)}")
    if follow_up_days < 1:
        raise InputError(f"--follow-up-days: {follow_up_days} must be at least 1")
    pop = read(engine, intervention, with_spend="spend" in outcomes)
    ev = Evaluation(pop, follow_up_days, prognostic)
    if not len(ev.t_all):
        raise InputError(f"nobody is enrolled in {intervention} after the data's first year")
    ev.fit()
    m = ev.match()
    treated_n = len(ev.t_all)
    matched_n = len(np.unique(ev.treated))
    max_smd = float(max((abs(v) for v in m["balance"].values()), default=0.0))
    out: dict[str, Any] = {}
    for name in outcomes:
        e = ev.outcome(name)
        out[name] = {
            "effect": e.effect,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "naive_before_after": e.naive_before_after,
            "degree": e.degree,
            "verdict": effects.verdict(name, e, max_smd, matched_n),
        }
    return {
        "treated": treated_n,
        "matched": matched_n,
        "balance_max_smd": max_smd,
        "outcomes": out,
        "balance": m["balance"],
        "controls": len(np.unique(ev.control)),
        "follow_up_days": follow_up_days,
        "intervention": intervention,
        "definition_version": DEFINITION_VERSION,
        "data_from": date_of(pop.first_day).isoformat(),
        "data_to": date_of(pop.last_day).isoformat(),
        "prognostic": prognostic_source if prognostic is not None else FALLBACK,
    }
