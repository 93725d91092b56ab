"""The effect on an outcome: matched difference-in-differences, the naive
before/after change, the degree of impact and the verdict in words.

The difference-in-differences is a Poisson regression (statsmodels GLM, log
link) of each person's count in the year before and in the follow-up, offset
by the days at risk, on treated, period and their interaction, with the
matched controls weighted 1/k and errors clustered by matched set. ``exp(interaction) - 1`` is the relative change in the
rate attributable to the intervention: the enrolled people's change from before
to after, net of their matched controls' change. Bed days and spend are not
counts: the same model is then a quasi-Poisson ratio of means, which the
cluster-robust errors keep honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from careweave.evaluation.data import Arr

Z95 = 1.959963984540054
#: Seed 001's degrees of impact, as (upper bound of |relative change|, label).
DEGREES = ((0.01, "0%"), (0.05, "1-5%"), (0.095, "5-9%"), (float("inf"), "10%+"))
#: Fewer enrolled people (or matched control sets) than this with the outcome in the
#: follow-up, and the regression has nothing to estimate from (no deaths among the
#: enrolled gives "-100%" with a meaningless interval): the verdict says so instead.
MIN_WITH_OUTCOME = 10
#: The degree when there were too few to estimate an effect.
TOO_FEW = "too few to say"


@dataclass
class Effect:
    effect: float
    ci_low: float
    ci_high: float
    naive_before_after: float | None
    #: Enrolled people and matched control sets with the outcome in the follow-up
    #: (-1: not counted).
    with_outcome_treated: int = -1
    with_outcome_control: int = -1

    @property
    def too_few(self) -> bool:
        counted = self.with_outcome_treated >= 0 and self.with_outcome_control >= 0
        least = min(self.with_outcome_treated, self.with_outcome_control)
        return counted and least < MIN_WITH_OUTCOME

    @property
    def degree(self) -> str:
        """Seed 001's degree of impact, or :data:`TOO_FEW`."""
        return TOO_FEW if self.too_few else degree(self.effect)


def _with_outcome(y_post: Arr, treated: Arr) -> tuple[int, int]:
    has = y_post > 0
    return int((has & (treated == 1)).sum()), int((has & (treated != 1)).sum())


def degree(effect: float) -> str:
    """Seed 001's scale of impact for a relative change (its size, either way)."""
    size = abs(effect)
    return next(label for bound, label in DEGREES if size < bound)


def did(
    y_pre: Arr,
    y_post: Arr,
    exp_pre: Arr,
    exp_post: Arr,
    treated: Arr,
    cluster: Arr,
    naive: float | None,
) -> Effect:
    """Matched difference-in-differences (one row per unit; exposures in days);
    ``naive`` is the enrolled people's own before/after change, shown beside it."""
    import statsmodels.api as sm

    n = len(y_pre)
    y = np.concatenate([y_pre, y_post])
    expo = np.concatenate([exp_pre, exp_post]) / 365.25
    t = np.concatenate([treated, treated]).astype(float)
    post = np.concatenate([np.zeros(n), np.ones(n)])
    g = np.concatenate([cluster, cluster])
    keep = expo > 0
    x = np.column_stack([np.ones(keep.sum()), t[keep], post[keep], (t * post)[keep]])
    fit = sm.GLM(y[keep], x, family=sm.families.Poisson(), offset=np.log(expo[keep])).fit(
        cov_type="cluster", cov_kwds={"groups": g[keep]}
    )
    b, se = float(fit.params[3]), float(fit.bse[3])
    return Effect(
        float(np.expm1(b)),
        float(np.expm1(b - Z95 * se)),
        float(np.expm1(b + Z95 * se)),
        naive,
        *_with_outcome(y_post, treated),
    )


def rate_ratio(y_post: Arr, exp_post: Arr, treated: Arr, cluster: Arr) -> Effect:
    """Deaths: nobody has died before the index date, so there is no before; the
    effect is the matched relative change in the death rate in the follow-up."""
    import statsmodels.api as sm

    expo = exp_post / 365.25
    keep = expo > 0
    x = np.column_stack([np.ones(keep.sum()), treated[keep].astype(float)])
    fit = sm.GLM(
        y_post[keep],
        x,
        family=sm.families.Poisson(),
        offset=np.log(expo[keep]),
    ).fit(cov_type="cluster", cov_kwds={"groups": cluster[keep]})
    b, se = float(fit.params[1]), float(fit.bse[1])
    return Effect(
        float(np.expm1(b)),
        float(np.expm1(b - Z95 * se)),
        float(np.expm1(b + Z95 * se)),
        None,
        *_with_outcome(y_post, treated),
    )


WORDS = {
    "emergency_admissions": "emergency admissions",
    "bed_days": "emergency bed days",
    "ae_attendances": "A&E attendances",
    "spend": "spend on activity",
    "deaths": "deaths",
}


def verdict(name: str, e: Effect, balance_max_smd: float, matched: int) -> str:
    """A plain-English verdict; says so when the evidence is too weak to claim anything."""
    what = WORDS[name]
    ci = f"95% CI {100 * e.ci_low:+.1f}% to {100 * e.ci_high:+.1f}%"
    caveats = []
    if balance_max_smd >= 0.1:
        caveats.append(
            f" The matched groups are not balanced (largest standardised difference "
            f"{balance_max_smd:.2f}, target below 0.1): treat this with caution."
        )
    if e.naive_before_after is not None and e.naive_before_after < min(e.effect, 0) - 0.05:
        caveats.append(
            f" A simple before/after comparison of the enrolled would show "
            f"{100 * e.naive_before_after:+.0f}%: most of that is regression to the mean, "
            "not the intervention."
        )
    if matched == 0:
        return f"No enrolled person could be matched: nothing can be said about {what}."
    if e.too_few:
        return (
            f"Too few people had {what} in the follow-up to estimate an effect "
            f"({e.with_outcome_treated} enrolled, {e.with_outcome_control} matched control "
            f"sets; at least {MIN_WITH_OUTCOME} of each are needed): nothing can be said."
        )
    if e.ci_low <= 0 <= e.ci_high:
        head = (
            f"The evidence is too weak to claim any effect on {what} "
            f"(estimate {100 * e.effect:+.1f}%, {ci}, which includes no change)."
        )
    else:
        way = "fewer" if e.effect < 0 else "more"
        head = (
            f"Enrolment was followed by {abs(100 * e.effect):.0f}% {way} {what} than in "
            f"matched controls ({ci}; degree of impact {degree(e.effect)})."
        )
    return head + "".join(caveats)
