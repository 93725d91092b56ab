"""The building blocks of the canonical dataset's schema.

A table is a list of typed, documented columns. The canonical tables themselves
are declared in :mod:`careweave.dataset.tables`; this module only says what a
table and a column *are*, so that importers, the generator, the loader, the
engines and the generated documentation (docs/data-model.md) all read one
definition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pyarrow as pa


class Kind(enum.Enum):
    """Logical column types, each with one Arrow type."""

    STRING = "string"
    INT = "int64"
    SMALLINT = "int16"
    FLOAT = "float64"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    STRING_LIST = "list<string>"

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW[self]


_ARROW: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.INT: pa.int64(),
    Kind.SMALLINT: pa.int16(),
    Kind.FLOAT: pa.float64(),
    Kind.BOOL: pa.bool_(),
    Kind.DATE: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("us"),
    Kind.STRING_LIST: pa.list_(pa.string()),
}


@dataclass(frozen=True)
class Reference:
    """A column whose values must be keys of another table."""

    table: str
    column: str


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    ``values`` lists the allowed values of a categorical column; ``check`` names
    a syntax check (see :mod:`careweave.dataset.codes`) applied by the loader.
    ``not_before``/``not_after`` name date columns of the same row (or
    ``people.date_of_birth``/``people.date_of_death`` via the person) that bound
    this date.

    ``may_be_absent`` marks a column added after datasets were first written:
    a file without it is still accepted and reads as all nulls (so it is never
    ``required``). ``identifying`` marks a column that identifies a person
    directly (name, address, telephone): pseudonymised and analytics outputs
    leave it out (see ``tables.IDENTIFYING_COLUMNS``).
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    values: tuple[str, ...] | None = None
    references: Reference | None = None
    check: str | None = None
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    may_be_absent: bool = False
    identifying: bool = False

    def __post_init__(self) -> None:
        if self.may_be_absent and self.required:
            raise ValueError(f"column {self.name}: a column that may be absent cannot be required")


@dataclass(frozen=True)
class Table:
    """A canonical table: one Parquet file ``<name>.parquet`` in a dataset directory."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: str
    person_column: str | None = "nhs_number"
    #: Date/timestamp column that places a row in time (for span filters and
    #: the "nothing before birth, after death, in the future" rules).
    date_columns: tuple[str, ...] = ()
    #: (earlier, later) date columns of a row, the later not before the earlier;
    #: None: the two date columns, when there are exactly two.
    end_dates: tuple[tuple[str, str], ...] | None = None
    #: Tables every dataset must contain (possibly empty); others are optional.
    required: bool = True
    group: str = "activity"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.kind.arrow, nullable=not c.required) for c in self.columns]
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def may_be_absent(self) -> tuple[str, ...]:
        """Columns a file of this table may lack (read as nulls)."""
        return tuple(c.name for c in self.columns if c.may_be_absent)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")
