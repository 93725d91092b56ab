"""Fixtures for the risk tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from risk.helpers import ENGINE_PARAMS


@pytest.fixture(params=ENGINE_PARAMS)
def engine_name(request: Any) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sim_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated warehouse of 12,000 people over 2019-2023 (see risk/simdata.py)."""
    from risk.simdata import simulate, write_warehouse

    path = tmp_path_factory.mktemp("simwh") / "warehouse.duckdb"
    return write_warehouse(simulate(12_000, seed=7), path)


@pytest.fixture(scope="session")
def trained(sim_warehouse: Path) -> dict[str, Any]:
    """The model trained at 2021-01-01 on the simulated warehouse, and its summary."""
    from careweave import risk

    return risk.train(sim_warehouse, dt.date(2021, 1, 1))
