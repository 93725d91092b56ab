"""DuckDB never draws its own progress bar on stdout (it corrupted --json output and a
memory test's parsing on a busy machine)."""

from pathlib import Path

from careweave import duck
from careweave.warehouse.engines import DuckDBEngine


def test_connections_have_no_progress_bar(tmp_path: Path) -> None:
    con = duck.connect(tmp_path / "w.duckdb")
    con.execute("create table t as select 1 as a")
    con.close()
    for c in (duck.connect(), duck.connect(tmp_path / "w.duckdb", read_only=True)):
        assert c.execute("select current_setting('enable_progress_bar')").fetchone() == (False,)
    engine = DuckDBEngine.open(tmp_path / "w.duckdb")
    setting = engine.con.con.execute("select current_setting('enable_progress_bar')").fetchone()
    assert setting == (False,)
