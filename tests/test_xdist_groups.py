"""The xdist groups hold: under ``-n 2 --dist loadgroup`` (scripts/run-tests.sh) the tests
of one group run on one worker, in order, and the rest are spread (tests/xdist_groups.py);
and tests/conftest.py's rules put a module's tests that share a module-scoped fixture,
and the tests that share a costly session fixture, in a group each, so that the fixture
is built once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    pass
"""

LOOSE = """
import pytest


@pytest.mark.parametrize("i", range(8))
def test_loose(i):
    pass
"""


def _pytest_n2(
    tmp_path: Path, env: dict[str, str], plugin: str
) -> subprocess.CompletedProcess[str]:
    """pytest over ``tmp_path`` on two xdist workers with ``plugin`` loaded; it must pass."""
    args = ["-p", plugin, "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(GROUPED)
    (tmp_path / "test_b.py").write_text(GROUPED)
    (tmp_path / "test_c.py").write_text(LOOSE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    run = _pytest_n2(tmp_path, env, "xdist_groups")
    ran = re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)", run.stdout)
    assert len(ran) == 16, run.stdout[-3000:]
    grouped = [(worker, test) for worker, test in ran if "test_grouped" in test]
    assert len(grouped) == 8
    assert all(test.endswith("@together") for _, test in grouped), grouped
    assert len({worker for worker, _ in grouped}) == 1, grouped
    order = [test.split("@")[0] for _, test in grouped]
    assert order == [f"test_{m}.py::test_grouped[{i}]" for m in "ab" for i in range(4)]


MODULE_FIXTURE = """
import os

import pytest


@pytest.fixture(scope="module")
def costly():
    with open(os.environ["BUILT"], "a") as f:
        f.write("built\\n")
    return 1


@pytest.mark.parametrize("i", range(4))
def test_uses_it(costly, i):
    pass


def test_does_not(tmp_path):
    pass
"""

SESSION_FIXTURE = """
import pytest


@pytest.fixture(scope="session")
def sim_warehouse():
    return 1


@pytest.mark.parametrize("i", range(3))
def test_sim(sim_warehouse, i):
    pass
"""


def test_a_module_fixture_and_a_shared_session_fixture_are_built_once(tmp_path: Path) -> None:
    (tmp_path / "test_m.py").write_text(MODULE_FIXTURE)
    (tmp_path / "test_s.py").write_text(SESSION_FIXTURE)
    (tmp_path / "test_c.py").write_text(LOOSE)
    built = tmp_path / "built.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
        "BUILT": str(built),
    }
    run = _pytest_n2(tmp_path, env, "conftest")
    ran = dict(
        (test, worker)
        for worker, test in re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)", run.stdout)
    )
    assert len(ran) == 16, run.stdout[-3000:]
    module = [t for t in ran if "test_uses_it" in t]
    assert len(module) == 4 and all(t.endswith("@module:test_m") for t in module), module
    assert len({ran[t] for t in module}) == 1, ran
    assert built.read_text() == "built\n"  # once, not once per worker
    assert "test_m.py::test_does_not" in ran  # no module fixture: no group
    session = [t for t in ran if "test_sim" in t]
    assert len(session) == 3 and all(t.endswith("@risk-sim") for t in session), session
    assert len({ran[t] for t in session}) == 1, ran
    assert not [t for t in ran if "test_loose" in t and "@" in t]
