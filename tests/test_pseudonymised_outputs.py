"""Analytics never carry who a person is: a synthetic population with names, addresses and
telephones goes through load, measures (the population_measures table, --json, --csv, every
group-by dimension), profile, and spc / funnel over the measures' own CSV, and no output
holds a name, an address line, a postcode or a telephone number, nor an identifying column.
(The analyst API and pages are tests/web/test_web_identity.py's
test_analyst_outputs_carry_no_identity.)"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from careweave.cli.main import main
from careweave.dataset import tables as T
from careweave.measures.context import DIMENSIONS
from careweave.synth import generate

START, END = dt.date(2022, 1, 1), dt.date(2024, 12, 31)
IDENTIFYING = {c for _, cols in T.IDENTIFYING_COLUMNS for c in cols}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A loaded warehouse and the identities in it (full names, address lines, postcodes,
    telephones: whole values, so a given name that is also a word or month is not a hit)."""
    root = tmp_path_factory.mktemp("pseudo")
    generate(400, 31, START, END, root / "ds")
    people = pq.read_table(root / "ds" / "people.parquet").to_pylist()
    identity: set[str] = set()
    for p in people:
        if p["given_name"] and p["family_name"]:
            identity.add(f"{p['given_name']} {p['family_name']}")
            identity.add(f"{p['family_name']}, {p['given_name']}")
        for col in ("address_line_1", "postcode", "telephone"):
            if p.get(col):
                identity.add(str(p[col]))
    assert len(identity) > 1000
    warehouse = root / "w.duckdb"
    assert main(["load", str(root / "ds"), "--warehouse", str(warehouse), "-q"]) == 0
    return warehouse, identity


def _assert_no_identity(what: str, text: str, identity: set[str]) -> None:
    found = sorted(i for i in identity if i in text)
    assert not found, (what, found[:5])


def test_measures_outputs_carry_no_identity(
    population: tuple[Path, set[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, identity = population
    # The warehouse does hold identity (the people table), so the check is not vacuous.
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        people_text = con.execute("SELECT * FROM people").df().to_csv()
    finally:
        con.close()
    assert any(i in people_text for i in identity)

    by = [a for d in DIMENSIONS for a in ("--by", d)]
    assert main(["measures", "--warehouse", str(warehouse), "--json", *by]) == 0
    _assert_no_identity("measures --json", capsys.readouterr().out, identity)
    out = tmp_path / "measures.csv"
    assert main(["measures", "--warehouse", str(warehouse), "--csv", str(out), *by]) == 0
    capsys.readouterr()
    frame = pd.read_csv(out)
    assert not IDENTIFYING & set(frame.columns)
    assert len(frame) > 100
    _assert_no_identity("measures --csv", out.read_text(), identity)

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        table = con.execute("SELECT * FROM population_measures").df()
    finally:
        con.close()
    assert not IDENTIFYING & set(table.columns)
    assert set(table["group_by"]) >= {"all", *DIMENSIONS}  # every dimension was written
    _assert_no_identity("population_measures", table.to_csv(), identity)

    # spc and funnel over the analyst's CSV of those measures.
    month = frame[(frame["interval"] == "month") & (frame["group_by"] == "all")]
    series = month[month["measure"] == month["measure"].iloc[0]][["interval_start", "numerator"]]
    series = series.dropna()
    spc_in = tmp_path / "series.csv"
    series.to_csv(spc_in, index=False)
    args = ["spc", str(spc_in), "--date", "interval_start", "--value", "numerator", "--json"]
    assert main(args) == 0
    _assert_no_identity("spc", capsys.readouterr().out, identity)
    rolling = frame[(frame["interval"] == "rolling_12_months") & (frame["group_by"] != "all")]
    rolling = rolling.dropna(subset=["numerator", "denominator"])
    rolling = rolling[
        (rolling["denominator"] > 0) & (rolling["measure"] == rolling["measure"].iloc[0])
    ]
    units = rolling.groupby("group_value", as_index=False)[["numerator", "denominator"]].last()
    funnel_in = tmp_path / "units.csv"
    units.to_csv(funnel_in, index=False)
    args = ["funnel", str(funnel_in), "--unit", "group_value", "--numerator", "numerator"]
    assert main([*args, "--denominator", "denominator", "--json"]) == 0
    _assert_no_identity("funnel", capsys.readouterr().out, identity)


def test_profile_carries_no_identity(
    population: tuple[Path, set[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, identity = population
    assert main(["profile", "--warehouse", str(warehouse), "--json"]) == 0
    out = capsys.readouterr().out
    json.loads(out)
    _assert_no_identity("profile --json", out, identity)
