"""Evaluation building blocks: standardised mean differences, nearest-neighbour
matching within exact strata and the caliper, degree of impact, verdict."""

from __future__ import annotations

import numpy as np
import pytest

from careweave.evaluation import effects, matching


def test_smd_by_hand() -> None:
    t = np.array([1.0, 2.0, 3.0])  # mean 2, var 2/3
    c = np.array([0.0, 1.0, 2.0])  # mean 1, var 2/3
    assert matching.smd(t, c) == pytest.approx(1 / np.sqrt(2 / 3))
    assert matching.smd(t, t) == 0.0
    assert matching.smd(np.ones(3), np.ones(4)) == 0.0


def test_smd_weights_controls() -> None:
    t = np.array([1.0, 1.0])
    c = np.array([1.0, 3.0])
    # weight all on the control equal to the treated: no difference in means
    assert matching.smd(t, c, np.array([1.0, 0.0])) == 0.0
    # equal weights = unweighted
    assert matching.smd(t, c, np.array([0.5, 0.5])) == pytest.approx(matching.smd(t, c))


def test_nearest_within_stratum_and_caliper() -> None:
    t = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 0.0]])
    t_strata = np.array([0, 0, 1])
    c = np.array([[0.05, 0.0], [0.1, 0.0], [0.0, 0.15], [3.0, 3.0], [0.0, 0.0]])
    c_strata = np.array([0, 0, 0, 0, 1])
    m = matching.nearest(t, t_strata, c, c_strata, k=2, caliper=0.2)
    pairs = sorted(zip(m.treated.tolist(), m.control.tolist(), m.weight.tolist(), strict=True))
    # treated 0: its two nearest in stratum 0 (never the stratum-1 control at distance 0);
    # treated 1: nothing within the caliper; treated 2: the one control of stratum 1, weight 1
    assert pairs == [(0, 0, 0.5), (0, 1, 0.5), (2, 4, 1.0)]


def test_nearest_with_replacement() -> None:
    t = np.array([[0.0, 0.0], [0.0, 0.01]])
    c = np.array([[0.0, 0.0], [9.0, 9.0]])
    m = matching.nearest(t, np.zeros(2, int), c, np.zeros(2, int), k=1, caliper=0.2)
    assert m.treated.tolist() == [0, 1] and m.control.tolist() == [0, 0]


@pytest.mark.parametrize(
    ("effect", "label"),
    [(0.0, "0%"), (-0.004, "0%"), (0.03, "1-5%"), (-0.07, "5-9%"), (-0.15, "10%+"), (0.5, "10%+")],
)
def test_degree_on_seed_001_scale(effect: float, label: str) -> None:
    assert effects.degree(effect) == label


def test_verdict_says_when_evidence_is_too_weak() -> None:
    weak = effects.Effect(-0.05, -0.2, 0.1, -0.3)
    text = effects.verdict("emergency_admissions", weak, 0.05, 100)
    assert text.startswith("The evidence is too weak to claim any effect on emergency admissions")
    assert "regression to the mean" in text
    strong = effects.Effect(-0.15, -0.2, -0.1, -0.3)
    text = effects.verdict("emergency_admissions", strong, 0.05, 100)
    assert "15% fewer emergency admissions" in text and "10%+" in text
    assert "not balanced" in effects.verdict("bed_days", strong, 0.2, 100)
    assert "nothing can be said" in effects.verdict("deaths", strong, 0.0, 0)


def test_did_recovers_a_known_ratio() -> None:
    # treated: 2 -> 1 per year, controls: 2 -> 2: the rate halves relative to controls
    n = 400
    rng = np.random.default_rng(1)
    y_pre = rng.poisson(2.0, 2 * n).astype(float)
    y_post = np.concatenate([rng.poisson(1.0, n), rng.poisson(2.0, n)]).astype(float)
    expo = np.full(2 * n, 365.25)
    treated = np.concatenate([np.ones(n), np.zeros(n)])
    e = effects.did(y_pre, y_post, expo, expo, treated, np.arange(2 * n), -0.5)
    assert e.ci_low < -0.5 < e.ci_high and e.ci_high < -0.35


def test_too_few_with_the_outcome_is_not_an_effect() -> None:
    # no deaths among the enrolled: the fit says "-100%"; the verdict must not
    n = 300
    treated = np.concatenate([np.ones(n), np.zeros(n)])
    y = np.concatenate([np.zeros(n), (np.arange(n) % 10 == 0).astype(float)])
    e = effects.rate_ratio(y, np.full(2 * n, 365.25), treated, np.arange(2 * n))
    assert (e.with_outcome_treated, e.with_outcome_control) == (0, 30)
    assert e.too_few and e.degree == effects.TOO_FEW
    text = effects.verdict("deaths", e, 0.02, n)
    assert text.startswith("Too few people had deaths in the follow-up")
    assert "nothing can be said" in text and "%" not in text.split("(")[0]
    # enough on both sides: the degree is on seed 001's scale again
    y2 = np.concatenate([(np.arange(n) % 20 == 0), (np.arange(n) % 10 == 0)]).astype(float)
    e2 = effects.rate_ratio(y2, np.full(2 * n, 365.25), treated, np.arange(2 * n))
    assert not e2.too_few and e2.degree == effects.degree(e2.effect)
