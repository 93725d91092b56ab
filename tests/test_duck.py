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


def test_row_count_is_the_catalogues_estimate_and_0_for_an_absent_table(tmp_path: Path) -> None:
    """DuckDBEngine.row_count orders the measures' queries (longest first): it reads the
    catalogue, never scans, and says 0 for a table the warehouse has not."""
    import duckdb

    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE people AS SELECT range AS n FROM range(1234)")
    con.close()
    engine = DuckDBEngine.open(path)
    try:
        assert engine.row_count("people") == 1234
        assert engine.row_count("hospital_spells") == 0
    finally:
        engine.close()
