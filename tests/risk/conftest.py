"""Fixtures for the risk tests."""

from __future__ import annotations

from typing import Any

import pytest

from risk.helpers import ENGINE_PARAMS


@pytest.fixture(params=ENGINE_PARAMS)
def engine_name(request: Any) -> str:
    return str(request.param)
