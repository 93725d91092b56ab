"""`careweave spc` and `careweave funnel` on an analyst's CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careweave.cli.main import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_spc_json_points_in_date_order(tmp_path: Path, capsys):
    f = tmp_path / "series.csv"
    rows = ["month,admissions"] + [
        f"2024-{m:02d}-01,{v}"
        for m, v in zip(
            range(12, 0, -1), [30, 31, 29, 30, 31, 29, 30, 31, 29, 30, 31, 80], strict=True
        )
    ]
    f.write_text("\n".join(rows) + "\n")
    code, out, _ = run(
        capsys,
        "spc",
        str(f),
        "--date",
        "month",
        "--value",
        "admissions",
        "--improvement",
        "decrease",
        "--target",
        "40",
        "--json",
    )
    assert code == 0
    body = json.loads(out)
    dates = [p["date"] for p in body["points"]]
    assert dates == sorted(dates) and len(dates) == 12
    first = body["points"][0]
    assert first["value"] == 80 and first["special_cause"] is True
    assert first["rule"] == ["outside_limits"]
    assert set(first) >= {"date", "value", "mean", "lower", "upper", "special_cause", "rule"}
    # in date order: 80 then 29-31; mean 411/12 = 34.25, mean moving range 1.3 once the 49 is
    # screened out, so limits 30.79 to 37.71: the last point (30) is low, which is improving for
    # a "decrease" KPI, and a target of 40 is beyond the upper limit: consistently passes.
    assert body["points"][-1]["upper"] == pytest.approx(34.25 + 2.66 * 1.3)
    assert body["variation"] == "special_cause_improving_low"
    assert body["assurance"] == "consistently_passes"


def test_spc_names_a_missing_column_and_a_bad_value(tmp_path: Path, capsys):
    f = tmp_path / "s.csv"
    f.write_text("month,n\n2024-01-01,3\n2024-02-01,x\n")
    code, _, err = run(capsys, "spc", str(f), "--date", "month", "--value", "count")
    assert code == 2 and "no column 'count'" in err and str(f) in err
    code, _, err = run(capsys, "spc", str(f), "--date", "month", "--value", "n")
    assert code == 2 and "row 3" in err and "'x' is not a number" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys, "spc", str(f), "--date", "month", "--value", "n", "--improvement", "up"
    )
    assert code == 2 and "--improvement" in err


def test_funnel_json_positions(tmp_path: Path, capsys):
    f = tmp_path / "practices.csv"
    f.write_text("practice,readmitted,discharges\nP1,2,100\nP2,30,200\nP3,60,300\n")
    code, out, _ = run(
        capsys,
        "funnel",
        str(f),
        "--unit",
        "practice",
        "--numerator",
        "readmitted",
        "--denominator",
        "discharges",
        "--json",
    )
    assert code == 0
    body = json.loads(out)
    assert abs(body["target"] - 92 / 600) < 1e-12
    units = {u["unit"]: u for u in body["units"]}
    assert units["P1"]["position"] == "below"
    assert set(units["P2"]) >= {
        "unit",
        "value",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "position",
    }


def test_funnel_refuses_a_proportion_over_one(tmp_path: Path, capsys):
    f = tmp_path / "p.csv"
    f.write_text("unit,n,d\nA,5,4\n")
    code, _, err = run(
        capsys, "funnel", str(f), "--unit", "unit", "--numerator", "n", "--denominator", "d"
    )
    assert code == 2 and "row 2" in err and "--rate" in err
