"""`careweave measures`: JSON keys, population_measures, disclosure on every output, bad names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from careweave.cli.main import main
from careweave.measures import docs
from careweave.measures.catalogue import Quantity, check, load_catalogue, parse_catalogue
from risk.simdata import simulate, write_warehouse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_warehouse(simulate(600, seed=4), tmp_path_factory.mktemp("mw") / "w.duckdb")


def _shown(v: float | None) -> bool:
    """A disclosure-controlled count: null, 0 or a multiple of 5 (never 1-7)."""
    return v is None or v == 0 or (v >= 8 and v % 5 == 0)


def test_json_summary_keys_and_disclosure(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kpis = [
        "emergency_admissions_per_1000",
        "readmission_30d_rate",
        "case_managed_share_levels_3_4",
    ]
    args = ["measures", "--warehouse", str(warehouse), "--json", "--by", "sex"]
    assert main([*args, *[a for k in kpis for a in ("--kpi", k)]]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "duckdb" and out["people"] == 600
    assert set(out["kpis"]) == set(kpis)
    for name, k in out["kpis"].items():
        assert {"value", "numerator", "denominator", "unit"} <= set(k)
        assert _shown(k["numerator"]), name
    em = out["kpis"]["emergency_admissions_per_1000"]
    assert em["value"] == pytest.approx(1000 * em["numerator"] / em["denominator"])
    assert out["summary_interval"] == {"start": "2023-01-01", "end": "2023-12-31"}
    # no case-management data: no figure, said in words
    cm = out["kpis"]["case_managed_share_levels_3_4"]
    assert cm["value"] is None and "case_management_episodes" in cm["no_data"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT interval, group_by, count(*) FROM population_measures GROUP BY ALL"
        ).fetchall()
        cols = [r[0] for r in con.execute("DESCRIBE population_measures").fetchall()]
    finally:
        con.close()
    counts = {(a, b): n for a, b, n in rows}
    assert counts[("month", "all")] == 2 * 60 and counts[("rolling_12_months", "all")] == 2 * 49
    assert ("month", "sex") in counts
    assert cols == [
        "measure",
        "interval",
        "interval_start",
        "interval_end",
        "group_by",
        "group_value",
        "numerator",
        "denominator",
        "value",
        "ci_lower",
        "ci_upper",
        "unit",
        "engine",
        "definition_version",
        "computed_at",
    ]


def test_csv_rows_are_disclosure_controlled(warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    args = ["measures", "--warehouse", str(warehouse), "--by", "practice", "--csv", str(path)]
    assert (
        main([*args, "--kpi", "emergency_admissions_per_1000", "--kpi", "ae_conversion_rate"]) == 0
    )
    frame = pd.read_csv(path)
    assert len(frame) > 100 and frame["suppressed"].any()
    counts = frame["numerator"].dropna()
    assert ((counts == 0) | ((counts >= 8) & (counts % 5 == 0))).all()
    hidden = frame[frame["suppressed"]]
    assert hidden["value"].isna().all() and hidden["ci_lower"].isna().all()
    conv = frame[
        (frame.measure == "ae_conversion_rate") & ~frame.suppressed & (frame.denominator > 0)
    ]
    assert (conv["value"] - conv["numerator"] / conv["denominator"]).abs().max() < 1e-12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kpi", "no_such_kpi"], "--kpi: unknown KPI 'no_such_kpi'"),
        (["--by", "postcode"], "--by: unknown dimension 'postcode'"),
        (["--engine", "oracle"], "--engine: unknown engine 'oracle'"),
        (["--from", "2023-13-01"], "--from: expected a date"),
    ],
)
def test_bad_names_exit_2_in_one_line(
    warehouse: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["measures", "--warehouse", str(warehouse), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_missing_warehouse_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measures", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "no such warehouse" in capsys.readouterr().err


def test_the_shipped_catalogue_holds_to_the_sources() -> None:
    """Reading the catalogue does not import the sources (Ibis); check() holds every
    quantity to them, as compute() does before computing."""
    check(load_catalogue().kpis.values())


@pytest.mark.parametrize(
    ("quantity", "says"),
    [
        ("no_such_source", "unknown source 'no_such_source'"),
        ("deaths.days", "deaths is an events source: no .days"),
        ("registered", "registered is an intervals source: say registered.stock|days"),
    ],
)
def test_a_quantity_not_of_its_sources_kind_is_refused(quantity: str, says: str) -> None:
    text = (
        'version = "t"\n[[kpi]]\nname = "k"\ntitle = "K"\ndefinition = "d"\n'
        f'kind = "count"\nnumerator = "{quantity}"\nunit = "u"\ndirection = "neither"\n'
        'source = "s"\nyear = "2025"\n'
    )
    cat = parse_catalogue(text)
    with pytest.raises(ValueError, match=re.escape(f"catalogue: k: {says}")):
        check(cat.kpis.values())


def test_an_intervals_quantity_needs_a_known_suffix() -> None:
    with pytest.raises(ValueError, match=r"registered\.stock\|days\|years\|weeks"):
        Quantity.parse("registered.months", "catalogue: k")


def test_catalogue_names_the_issue_lists() -> None:
    names = set(load_catalogue().kpis)
    required = [
        "emergency_admissions_per_1000",
        "emergency_admissions_per_1000_age_standardised",
        "acsc_emergency_admissions_per_1000",
        "readmission_30d_rate",
        "emergency_bed_days_per_1000",
        "mean_length_of_stay_days",
        "share_bed_days_65plus_stays_over_10_days",
        "share_bed_days_stays_over_15_days",
        "delayed_discharge_bed_days_share",
        "ae_attendances_per_1000",
        "ae_conversion_rate",
        "permanent_care_home_admissions_per_100000_65plus",
        "reablement_home_91d_rate_65plus",
        "outpatient_dna_rate",
        "hospital_deaths_share",
        "case_managed_share_levels_3_4",
        "lead_professional_share_levels_3_4",
        "care_plan_share_levels_3_4",
        "case_management_register_share",
        "care_home_residents_with_care_plan_share",
        "telecare_coverage_levels_3_4",
        "lower_levels_share",
        "spend_per_head",
    ]
    assert set(required) <= names
    from careweave.dataset.registers import load_registers

    assert {f"prevalence_{r.name}" for r in load_registers()} <= names


def test_docs_in_step() -> None:
    committed = (ROOT / "docs" / "measures.md").read_text()
    assert committed == docs.render(), "run `make docs` to regenerate docs/measures.md"


def test_missing_data_is_no_data_not_a_crash() -> None:
    """Tables present but empty (or a column all null) give "no data", like absent ones."""
    import datetime as dt

    from careweave.dataset.tariff import default_tariff
    from careweave.measures.catalogue import select
    from careweave.measures.compute import compute
    from careweave.warehouse.engines import engine_from_tables
    from risk.helpers import make_tables

    tables = make_tables(
        {
            "people": [{"nhs_number": "9990000018"}],
            "hospital_spells": [
                {
                    "nhs_number": "9990000018",
                    "admission_date": dt.date(2023, 2, 1),
                    "discharge_date": dt.date(2023, 2, 3),
                }
            ],
            "case_management_episodes": [],
            "telecare_services": [],
        }
    )
    names = [
        "delayed_discharge_bed_days_share",
        "case_management_register_share",
        "telecare_coverage_levels_3_4",
        "emergency_admissions_per_1000",
    ]
    engine = engine_from_tables("duckdb", tables)
    try:
        out = compute(
            engine, dt.date(2023, 1, 1), dt.date(2023, 12, 31), select(names), (), default_tariff()
        )
    finally:
        engine.close()
    assert set(out.no_data) == set(names[:3])
    assert "discharge_ready_date" in out.no_data["delayed_discharge_bed_days_share"]
    assert set(out.results.measure) == {"emergency_admissions_per_1000"}
