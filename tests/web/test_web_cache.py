"""The workbench's per-process caches: one computation per key at a time, stale values
served while one thread refreshes, errors not wedging the key."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from careweave.web.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_misses_compute_once_and_share_the_value() -> None:
    cache = TtlCache(60.0)
    calls = 0

    def slow() -> list[str]:
        nonlocal calls
        calls += 1
        time.sleep(0.2)
        return ["adults / one long-term condition"]

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: cache.get("segments", slow), range(10)))
    assert calls == 1
    assert all(r is results[0] for r in results)


def test_stale_value_is_served_while_one_thread_refreshes() -> None:
    clock = Clock()
    cache = TtlCache(60.0, clock)
    assert cache.get("k", lambda: "old") == "old"
    clock.now = 61.0
    started, release = threading.Event(), threading.Event()

    def slow_refresh() -> str:
        started.set()
        release.wait(5)
        return "new"

    with ThreadPoolExecutor(1) as pool:
        refreshing = pool.submit(cache.get, "k", slow_refresh)
        assert started.wait(5)
        t = time.perf_counter()
        assert cache.get("k", lambda: pytest.fail("a second refresh ran")) == "old"
        assert time.perf_counter() - t < 0.1  # not made to wait for the refresh
        release.set()
        assert refreshing.result(5) == "new"
    assert cache.get("k", lambda: "unused") == "new"
    clock.now = 200.0
    assert cache.get("k", lambda: "newer") == "newer"


def test_a_failed_computation_leaves_the_key_usable() -> None:
    cache = TtlCache(60.0)

    def boom() -> str:
        raise RuntimeError("store unavailable")

    with pytest.raises(RuntimeError):
        cache.get("k", boom)
    assert cache.get("k", lambda: "ok") == "ok"
    cache.clear()
    assert cache.get("k", lambda: "again") == "again"


def test_the_app_warms_its_caches_before_serving(demo_db: str) -> None:
    from fastapi.testclient import TestClient

    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.web.pages import worklist
    from careweave.web.worklist_query import _ORGS

    worklist._SEGMENTS.clear()
    _ORGS.clear()
    app = build_app(Settings(db=demo_db, insecure_cookies=True, pseudonym_key="k" * 32))
    with TestClient(app):  # runs the lifespan: startup, then shutdown
        segments = worklist._SEGMENTS.get(demo_db, lambda: pytest.fail("not warmed"))
        orgs = _ORGS.get(demo_db, lambda: pytest.fail("not warmed"))
    assert segments and orgs


def test_a_failed_warm_up_does_not_stop_the_app(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.web import worklist_query
    from careweave.web.pages import worklist

    def broken(_session: object) -> object:
        raise RuntimeError("organisations unavailable")

    worklist._SEGMENTS.clear()
    worklist_query._ORGS.clear()
    monkeypatch.setattr(worklist_query, "organisations", broken)
    app = build_app(Settings(db=demo_db, insecure_cookies=True, pseudonym_key="k" * 32))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
    assert "warm-up skipped: RuntimeError" in caplog.text


def test_a_serving_app_prepares_its_routes_and_freezes_the_start_up_heap(demo_db: str) -> None:
    # The first request used to prepare FastAPI's routes in the event loop (about 1 s of
    # CPU with every request waiting), and full garbage collections walked the whole
    # start-up heap (about 200 ms of CPU each) in the middle of requests.
    import gc

    from fastapi.testclient import TestClient

    from careweave.server import build_app
    from careweave.settings import Settings

    settings = Settings(db=demo_db, insecure_cookies=True, pseudonym_key="k" * 32)
    before = gc.get_freeze_count()
    try:
        app = build_app(settings, serving=True)
        assert app.openapi_schema is None
        with TestClient(app) as client:
            assert app.openapi_schema is not None  # every route prepared before serving
            assert gc.get_freeze_count() > before
            assert client.get("/health").status_code == 200
    finally:
        gc.unfreeze()
    # The tests' apps freeze nothing (a frozen cycle is never collected).
    test_app = build_app(settings)
    with TestClient(test_app):
        assert gc.get_freeze_count() == 0


def test_the_warm_up_reads_one_persons_warehouse_history(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first patient page in a process paid DuckDB's first use of each table and the
    # code descriptions' loading (about 360 ms of CPU); the warm-up pays it instead.
    import duckdb
    from fastapi.testclient import TestClient

    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.web import record
    from careweave.web import warehouse as wh

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    read: list[tuple[str, str]] = []
    for module, name in ((wh, "timeline"), (wh, "telehealth"), (wh, "risk_history")):
        monkeypatch.setattr(
            module, name, lambda con, nhs, *a, _n=name: read.append((_n, nhs)) or []
        )
    monkeypatch.setattr(record, "shared_record", lambda con, nhs, today: read.append(("r", nhs)))
    app = build_app(
        Settings(db=demo_db, warehouse=path, insecure_cookies=True, pseudonym_key="k" * 32)
    )
    with TestClient(app):
        pass
    assert [n for n, _ in read] == ["timeline", "telehealth", "risk_history", "r"]
    assert len({nhs for _, nhs in read}) == 1 and read[0][1].isdigit()


def test_a_kept_fragment_is_spliced_into_the_page_as_utf8_bytes() -> None:
    """A Fragment renders as its marker and the page gets its kept bytes in its place,
    wherever and however often the template shows it; text around it is encoded."""
    from jinja2 import Environment
    from markupsafe import Markup

    from careweave.web.templating import Fragment, splice

    jinja = Environment(autoescape=True)
    kept = Fragment("<ul><li>Valley Surgery – 12.5%</li></ul>")
    other = Fragment("<p>second</p>")
    page = jinja.from_string("<h1>{{ title }}</h1>{{ body }}<hr>{{ other }}{{ body }}").render(
        title="Mrs Jones’s <script>", body=kept, other=other
    )
    assert kept.marker in page and "Valley" not in page
    out = splice(page, [kept, other])
    assert (
        out
        == (
            "<h1>Mrs Jones’s &lt;script&gt;</h1><ul><li>Valley Surgery – 12.5%</li></ul><hr>"
            "<p>second</p><ul><li>Valley Surgery – 12.5%</li></ul>"
        ).encode()
    )
    # a marker typed into a page's text is escaped, so it cannot pull a fragment in
    forged = jinja.from_string("{{ q }}").render(q=kept.marker)
    assert splice(forged, [kept]) == forged.encode() and b"Valley" not in splice(forged, [kept])
    assert isinstance(Markup(kept), Markup) and len(kept) == len(kept.data)


def test_kept_page_content_is_bounded_in_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commissioner pages' cache empties itself once the content it keeps passes
    MAX_BYTES, not only after MAX_ENTRIES entries (arbitrary date ranges of megabyte
    dashboards would otherwise fill a worker's memory)."""
    from careweave.web import intelligence as intel
    from careweave.web.templating import Fragment

    warehouse = tmp_path / "w.duckdb"
    warehouse.write_bytes(b"x")
    monkeypatch.setattr(intel, "MAX_BYTES", 2500)
    intel._CACHE.clear()
    intel._KEPT[0] = 0
    made: list[int] = []

    def page(i: int) -> tuple[str, Fragment]:
        made.append(i)
        return (f"page {i}", Fragment("é" * 500))  # 1,000 bytes of UTF-8

    for i in range(3):
        intel.cached(warehouse, ("page", i), lambda i=i: page(i))
    assert intel._KEPT[0] == 3000 and len(intel._CACHE) == 3
    intel.cached(warehouse, ("page", 0), lambda: page(0))  # over the bound: emptied, remade
    assert made == [0, 1, 2, 0]
    assert len(intel._CACHE) == 1 and intel._KEPT[0] == 1000
    intel.cached(warehouse, ("page", 0), lambda: page(0))  # under it: kept
    assert made == [0, 1, 2, 0]
    assert intel.kept_bytes(("a", [b"xy", Fragment("z")], 3)) == 3
    intel._CACHE.clear()
    intel._KEPT[0] = 0
