"""The xdist groups hold: under ``-n 2 --dist loadgroup`` (scripts/run-tests.sh) the tests
of one group run on one worker, in order, and the rest are spread (tests/xdist_groups.py)."""

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


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(GROUPED)
    (tmp_path / "test_b.py").write_text(GROUPED)
    (tmp_path / "test_c.py").write_text(LOOSE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    args = ["-p", "xdist_groups", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ran = re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)", run.stdout)
    assert len(ran) == 16, run.stdout[-3000:]
    grouped = [(worker, test) for worker, test in ran if "test_grouped" in test]
    assert len(grouped) == 8
    assert all(test.endswith("@together") for _, test in grouped), grouped
    assert len({worker for worker, _ in grouped}) == 1, grouped
    order = [test.split("@")[0] for _, test in grouped]
    assert order == [f"test_{m}.py::test_grouped[{i}]" for m in "ab" for i in range(4)]
