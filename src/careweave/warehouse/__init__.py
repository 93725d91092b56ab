"""The analytics warehouse: DuckDB by default, Spark at national scale, behind one small interface."""
