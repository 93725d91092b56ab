"""The canonical patient-level dataset: tables, columns, code syntax, NHS numbers."""

from careweave.dataset.schema import Column, Kind, Reference, Table
from careweave.dataset.tables import BY_NAME, TABLES, table

__all__ = ["BY_NAME", "TABLES", "Column", "Kind", "Reference", "Table", "table"]
