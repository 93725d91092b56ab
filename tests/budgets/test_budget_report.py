"""The budget report over a planted population_measures: spend, trajectories, SPC, forecast,
suppression; and the CLI (check and report, text and JSON, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careweave.budgets.file import load_budget
from careweave.budgets.report import report, to_json
from careweave.cli.main import main

from .helpers import REGISTER, budget_file, plant


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("budgets")
    return plant(tmp / "w.duckdb"), budget_file(tmp)


def _report(planted: tuple[Path, Path]) -> dict:  # type: ignore[type-arg]
    warehouse, budget = planted
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return to_json(report(con, load_budget(budget), "budget.toml"))
    finally:
        con.close()


def test_spend_against_allocation_and_run_rate(planted: tuple[Path, Path]) -> None:
    r = _report(planted)
    assert r["measured_to"] == "2025-09-01"
    s1 = r["schemes"][0]
    assert s1["allocation"] == 1_200_000
    assert s1["months_spent"] == 6
    assert s1["spend_to_date"] == pytest.approx(600_000.0)  # £100k a month, six months
    assert s1["spend_forecast"]["method"] == "run_rate"
    assert s1["spend_forecast"]["value"] == pytest.approx(1_200_000.0)
    assert s1["spend_forecast_variance"] == pytest.approx(0.0)
    assert r["partners"][0] == {
        "id": "nhs",
        "name": "NHS",
        "kind": "nhs",
        "contribution": 1_000_000,
        "allocated": 900_000,
    }


def test_spend_of_the_settings_a_scheme_names(planted: tuple[Path, Path]) -> None:
    s3 = _report(planted)["schemes"][2]
    assert s3["spend_settings"] == ["social_care"]
    assert s3["spend_to_date"] == pytest.approx(180_000.0)  # £30k social care a month
    assert s3["spend_forecast"]["value"] == pytest.approx(360_000.0)
    assert s3["spend_forecast_variance"] == pytest.approx(260_000.0)
    assert s3["kpis"] == []


def test_kpi_against_its_trajectory(planted: tuple[Path, Path]) -> None:
    k = _report(planted)["schemes"][0]["kpis"][0]
    assert k["id"] == REGISTER
    assert k["baseline"] == pytest.approx(0.01)  # 100 of 10,000 every baseline month
    assert k["target"] == pytest.approx(0.02)
    months = k["months"]
    assert [m["month"] for m in months][:2] == ["2025-04", "2025-05"]
    # trajectory 1% + 1/12 point a month; actual 1.15%, 1.30%, ... 1.90%
    assert months[0]["trajectory"] == pytest.approx(0.010833, abs=1e-6)
    assert months[5]["trajectory"] == pytest.approx(0.015)
    assert months[0]["value"] == pytest.approx(0.0115)
    assert all(m["on_track"] for m in months[:6])
    assert months[6]["value"] is None and months[6]["on_track"] is None
    # rising 0.15 points a month: 2.80% by March, which meets the 2% target
    assert k["forecast"]["method"] == "linear_trend"
    assert k["forecast"]["value"] == pytest.approx(0.028)
    assert k["forecast_meets_target"] is True
    # SPC rebased at the year's start: the year's six points have their own limits, mean
    # 1.525% and mean moving range 0.15 points, so the upper limit is 1.525 + 2.66 x 0.15 =
    # 1.924%: below the 2% target, "consistently fails" (though the trend's forecast meets
    # it: the page shows both). Six rising points are not yet a trend (7), the last is
    # inside the limits and alone beyond the near limit (1.791%): common cause.
    assert k["variation"] == "common_cause"
    assert k["assurance"] == "consistently_fails"


def test_monitor_only_kpi_has_no_trajectory_or_assurance(planted: tuple[Path, Path]) -> None:
    k = _report(planted)["schemes"][0]["kpis"][1]
    assert k["monitor_only"] is True and k["target"] is None
    assert all(m["trajectory"] is None for m in k["months"])
    assert k["assurance"] is None
    assert k["months"][0]["value"] is not None


def test_small_counts_are_suppressed_before_any_figure(planted: tuple[Path, Path]) -> None:
    s2 = _report(planted)["schemes"][1]
    assert s2["group_by"] == "practice" and s2["group_value"] == "GP9"
    k = s2["kpis"][0]
    # 3 people a month: every month suppressed, so no baseline, value, forecast or SPC
    assert all(m["suppressed"] and m["value"] is None for m in k["months"][:6])
    assert k["baseline"] is None and k["assurance"] is None and k["variation"] is None
    assert k["forecast"]["value"] is None
    # money is not a count: the practice's spend shows
    assert s2["spend_to_date"] == pytest.approx(24_000.0)


def test_cli_check_and_report(
    planted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, budget = planted
    assert main(["budgets", "check", str(budget)]) == 0
    assert "3 schemes" in capsys.readouterr().out
    assert (
        main(
            ["budgets", "report", "--warehouse", str(warehouse), "--budget", str(budget), "--json"]
        )
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    assert payload["schemes"][0]["kpis"][0]["target"] == pytest.approx(0.02)
    assert main(["budgets", "report", "--warehouse", str(warehouse), "--budget", str(budget)]) == 0
    out = capsys.readouterr().out
    assert "S1 Case management" in out and "consistently fails the target" in out


def test_cli_errors_are_one_line_exit_2(
    planted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, budget = planted
    bad = tmp_path / "bad.toml"
    bad.write_text(budget.read_text().replace("target = 0.02", "target = 2", 1))
    assert main(["budgets", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"careweave: error: {bad}: scheme[S1].kpi[case_management_register_share].target: "
        "a proportion is a fraction from 0 to 1 (0.95 = 95%)"
    )
    assert (
        main(
            [
                "budgets",
                "report",
                "--warehouse",
                str(tmp_path / "none.duckdb"),
                "--budget",
                str(budget),
            ]
        )
        == 2
    )
    assert "no such warehouse file" in capsys.readouterr().err


def test_the_example_reports_on_a_warehouse_without_those_measures(
    planted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, _ = planted
    assert main(["budgets", "report", "--warehouse", str(warehouse), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in payload["schemes"]] == ["LTC1", "LTC1-L4", "LTC4"]
    care_plans = payload["schemes"][0]["kpis"][0]
    assert care_plans["id"] == "people_with_care_plan" and care_plans["baseline"] is None
