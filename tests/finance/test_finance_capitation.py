"""`careweave finance capitation`: budgets add up to the modelled total, the model card, errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from careweave.cli.main import main
from careweave.dataset.tariff import default_tariff
from careweave.finance.capitation import Model, budgets, capitation, people_at
from careweave.warehouse.engines import DuckDBEngine
from risk.simdata import simulate, write_warehouse

AS_OF = "2022-12-31"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_warehouse(simulate(1500, seed=11), tmp_path_factory.mktemp("cw") / "w.duckdb")


def test_budgets_sum_to_the_modelled_total(warehouse: Path) -> None:
    eng = DuckDBEngine.open(warehouse)
    try:
        result = capitation(eng, dt.date(2022, 12, 31), default_tariff())
        now = people_at(eng, default_tariff(), dt.date(2022, 12, 31), cost=False)
    finally:
        eng.close()
    b = result.budget
    board = b[b.level == "board"].capitated.sum()
    assert board == pytest.approx(result.modelled_total, rel=1e-9)
    assert b[b.level == "practice"].capitated.sum() == pytest.approx(board, rel=1e-9)
    assert b[b.level == "locality"].capitated.sum() == pytest.approx(board, rel=1e-9)
    assert b[b.level == "board"].people.iloc[0] == len(now)
    # the modelled total is the sum of each registered person's prediction
    assert result.model.predict(now).sum() == pytest.approx(result.modelled_total, rel=1e-9)
    # validation year: capitated against actual; OLS from the year before is close in total
    v = result.validation
    vb = v[v.level == "board"].iloc[0]
    assert vb.actual > 0 and 0.7 < vb.capitated / vb.actual < 1.3
    card = result.card
    overall = card[card.group_by == "all"].iloc[0]
    assert 0 < overall.r2 < 1 and overall.mae > 0
    assert {"age_band", "sex", "deprivation_quintile", "locality"} <= set(card.group_by)
    ages = card[card.group_by == "age_band"]
    assert ages.people.sum() == overall.people


def test_an_envelope_keeps_the_shares() -> None:
    import pandas as pd

    frame = pd.DataFrame({"practice": ["A", "A", "B"], "locality": ["L", "L", "L"]})
    pred = np.asarray([100.0, 300.0, 600.0])
    b = budgets(frame, pred * 2.0)
    got = dict(zip(b.unit, b.capitated, strict=True))
    assert got == {"all": 2000.0, "L": 2000.0, "A": 800.0, "B": 1200.0}


def test_ols_predictions_add_up_to_the_fitted_total() -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "age_band": rng.choice(["0-4", "40-44", "80-84"], n),
            "sex": rng.choice(["female", "male"], n),
            "deprivation_quintile": rng.choice(["1", "3", "unknown"], n),
            "reg_diabetes": rng.integers(0, 2, n),
        }
    )
    frame["spend"] = 200 + 900 * frame.reg_diabetes + rng.gamma(1.0, 300, n)
    m = Model.fit(frame, dt.date(2022, 1, 1))
    assert m.predict(frame).sum() == pytest.approx(frame.spend.sum(), rel=1e-6)
    assert m.coefficient_table()["reg_diabetes"] == pytest.approx(900, abs=120)


def test_cli_json_writes_tables_and_controls_disclosure(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["finance", "capitation", "--warehouse", str(warehouse), "--as-of", AS_OF]
    assert main([*args, "--json", "--total", "1000000"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == pytest.approx(1_000_000)
    assert out["periods"]["budget"] == ["2023-01-01", "2023-12-31"]
    practices = [r for r in out["budgets"] if r["level"] == "practice"]
    assert sum(r["capitated"] or 0 for r in practices) == pytest.approx(1_000_000)
    for r in out["budgets"] + out["validation"]:
        assert r["people"] is None or r["people"] % 5 == 0
    assert {r["group_by"] for r in out["model_card"]} >= {"all", "age_band", "sex"}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        n = con.execute(
            "SELECT count(*), sum(capitated) FILTER (level = 'board' AND period = 'budget') "
            "FROM capitation_budgets WHERE as_of = DATE '2022-12-31'"
        ).fetchone()
        cards = con.execute("SELECT count(*) FROM capitation_model_card").fetchone()
    finally:
        con.close()
    assert n[0] > 2 and n[1] == pytest.approx(1_000_000)
    assert cards[0] == len(out["model_card"])
    # a second run replaces, not appends
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "R²" in text and "Capitated budgets for 2023-01-01 to 2023-12-31" in text
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        again = con.execute("SELECT count(*) FROM capitation_budgets").fetchone()
    finally:
        con.close()
    assert again[0] == n[0]


@pytest.mark.parametrize(
    ("as_of", "extra", "message"),
    [
        ("2020-06-30", [], "needs two years of data before it"),
        ("2031-01-01", [], "after the warehouse's last day"),
        ("2022-02-30", [], "--as-of: expected a date"),
        (AS_OF, ["--total", "-5"], "--total: expected a positive amount"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    warehouse: Path,
    capsys: pytest.CaptureFixture[str],
    as_of: str,
    extra: list[str],
    message: str,
) -> None:
    args = ["finance", "capitation", "--warehouse", str(warehouse), "--as-of", as_of, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_ols_is_least_squares_even_when_rank_deficient() -> None:
    """The normal-equations fit gives scikit-learn's LinearRegression solution (float64),
    with an empty column at 0 and two identical columns sharing their effect."""
    from sklearn.linear_model import LinearRegression

    from careweave.finance.capitation import OLS_CHUNK, ols

    rng = np.random.default_rng(5)
    n, k = OLS_CHUNK + 1000, 12  # more than one chunk
    x = (rng.random((n, k)) < rng.random(k) * 0.4).astype(np.float32)
    x[:, 3] = 0.0  # nobody in this cell
    x[:, 5] = x[:, 4]  # collinear
    y = 150 + x.astype(np.float64) @ rng.gamma(1.0, 400.0, k) + rng.gamma(1.0, 700.0, n)
    intercept, coef = ols(x, y)
    ref = LinearRegression().fit(x.astype(np.float64), y)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-9)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-8, atol=1e-8)
    assert coef[3] == pytest.approx(0.0, abs=1e-9)
    assert coef[4] == pytest.approx(coef[5], rel=1e-9)
    assert (x @ coef + intercept).sum() == pytest.approx(y.sum(), rel=1e-12)
