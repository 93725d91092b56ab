"""Validation, quarantine and atomic, idempotent loading of dataset directories into the warehouse (careweave load).

- :mod:`~careweave.ingest.sources`: find and check the input files (bad file -> InputError);
- :mod:`~careweave.ingest.rules`: the validation rules as DuckDB SQL, and the reasons;
- :mod:`~careweave.ingest.load`: the transaction that validates, quarantines and inserts;
- :mod:`~careweave.ingest.report`: :class:`LoadReport`, read back and printed.

docs/loading.md describes the rules, reasons, reconciliation, idempotency and atomicity.
"""

from careweave.ingest.load import load_dataset
from careweave.ingest.report import (
    LoadReport,
    QualityCount,
    TableCounts,
    print_report,
    read_reports,
)
from careweave.ingest.rules import REASONS

__all__ = [
    "REASONS",
    "LoadReport",
    "QualityCount",
    "TableCounts",
    "load_dataset",
    "print_report",
    "read_reports",
]
