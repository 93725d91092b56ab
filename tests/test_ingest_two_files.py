"""A dataset folder with two files for one table: the first is loaded, the other named in a warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from careweave.ingest.sources import inspect_dataset
from ingest_fixtures import valid_dataset, write_dataset


def test_two_files_for_one_table_warns_naming_the_ignored_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = valid_dataset(5, 1, optional=False)
    directory = write_dataset(tmp_path / "ds", data)
    write_dataset(tmp_path / "csv", {"people": data["people"][:2]}, fmt="csv")
    (tmp_path / "csv" / "people.csv").rename(directory / "people.csv")
    with caplog.at_level(logging.WARNING, logger="careweave.ingest.sources"):
        inputs = inspect_dataset(directory)
    people = next(s for s in inputs.sources if s.table.name == "people")
    assert people.path == directory / "people.parquet" and people.rows == 5
    assert [r.getMessage() for r in caplog.records] == [
        f"careweave: warning: {directory / 'people.csv'} ignored: "
        f"{directory / 'people.parquet'} holds the people table"
    ]
    # From the command line (no logging configured) the warning reaches stderr, one line,
    # and the load goes ahead.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "careweave.cli.main",
            "load",
            str(directory),
            "-w",
            str(tmp_path / "w.duckdb"),
            "-q",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"careweave: warning: {directory / 'people.csv'} ignored: "
        f"{directory / 'people.parquet'} holds the people table"
    )


def test_one_file_per_table_says_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(5, 1, optional=False))
    with caplog.at_level(logging.WARNING):
        inspect_dataset(directory)
    assert not caplog.records
