"""``@pytest.mark.xdist_group`` honoured again under ``--dist loadgroup``.

pytest-xdist 3.8 tells its scheduler a test's group by appending ``@NAME`` to the test's
node id on the worker, and it does that by assigning ``item._nodeid``; pytest 9.2 keeps
node ids as a structured ``item._id`` and ignores that attribute, so every group mark was
silently dropped and each test was handed out on its own (pytest-xdist issue 1386, its fix
not released). The Spark tests then started a JVM on both workers and every browser
module's live server and warehouse were built on both. This plugin (loaded by
tests/conftest.py) appends the suffix the way pytest 9.2 reads it, after xdist's own
attempt, and only on an xdist worker under ``--dist loadgroup``; once xdist's suffix
takes effect again it does nothing. tests/test_xdist_groups.py checks that a group runs on
one worker.
"""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


def group_suffix(item: pytest.Item) -> str | None:
    """The ``@NAME`` suffix xdist gives a test in groups (names sorted, joined by ``_``)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "@" + "_".join(sorted(names)) if names else None


@pytest.hookimpl(trylast=True)  # after every hook that adds marks, and after xdist's own
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        suffix = group_suffix(item)
        if suffix is None or item.nodeid.endswith(suffix):
            continue
        item._id = NodeId.parse(item.nodeid + suffix)
        if not item.nodeid.endswith(suffix):
            raise pytest.UsageError(f"{item.nodeid}: cannot give it its xdist group {suffix}")
