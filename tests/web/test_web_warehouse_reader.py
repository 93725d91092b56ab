"""The server's shared warehouse reader (web.warehouse.Reader): one read-only database for
every request, per-version memo, and the file let go when idle so a load can write."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

from careweave.web import warehouse as wh


def _warehouse(path: Path, tables: tuple[str, ...] = ("a",)) -> Path:
    con = duckdb.connect(str(path))
    for t in tables:
        con.execute(f"CREATE TABLE IF NOT EXISTS {t} (nhs_number VARCHAR)")
    con.close()
    return path


def test_requests_share_one_database_and_the_memo(tmp_path: Path) -> None:
    reader = wh.Reader(_warehouse(tmp_path / "w.duckdb"), idle=60)
    made: list[int] = []
    barrier = threading.Barrier(4)
    seen: list[object] = []

    def request() -> None:
        with reader.cursor() as con:
            assert con is not None
            barrier.wait()  # all four read at once
            seen.append(reader._con)
            assert wh.tables(con) == {"a"}
            con.memo("k", lambda: made.append(1) or 1)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1  # one database, four cursors
    assert made == [1]  # computed once for this version
    reader.close()


def test_the_file_is_let_go_when_idle_and_changes_are_seen(tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb")
    reader = wh.Reader(path, idle=0.05)
    with reader.cursor() as con:
        assert wh.tables(con) == {"a"}
    deadline = time.monotonic() + 5
    while reader._con is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reader._con is None
    _warehouse(path, ("a", "b"))  # a writer can open it now (a load between bursts)
    with reader.cursor() as con:
        assert wh.tables(con) == {"a", "b"}  # a new version: the memo is recomputed
    reader.close()
    assert reader._con is None


def test_an_absent_or_broken_warehouse_gives_none(tmp_path: Path) -> None:
    with wh.Reader(tmp_path / "missing.duckdb").cursor() as con:
        assert con is None
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    with wh.Reader(bad).cursor() as con:
        assert con is None


def test_a_plain_connection_still_works_without_a_memo(tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb")
    with wh.connect(path) as con:
        assert wh.tables(con) == {"a"}
        assert wh.movement(con) is None
