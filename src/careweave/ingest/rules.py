"""The validation rules, as DuckDB SQL built from the canonical table declarations.

Each rule is a SQL condition, true when a row fails it. A table's row rules run
in one vectorised ``CASE`` over the whole input; the first rule a row fails
(in the order of :data:`REASONS`) is its quarantine reason. Duplicate and
warehouse-conflict checks run afterwards on the rows that passed everything
else (see :mod:`careweave.ingest.load`).

Code syntax is checked on the *distinct* codes of a table by
:func:`careweave.dataset.codes.is_valid_code` itself (a table of tens of
millions of rows carries a few thousand distinct codes), so the loader and the
dataset module can never disagree. NHS numbers (a million distinct values) are
checked by a SQL macro that implements Modulus 11; a property test keeps it in
step with :func:`careweave.dataset.nhs_number.is_valid`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from careweave.dataset.schema import Column, Kind, Table
from careweave.ingest.sources import ABSENT, Source
from careweave.warehouse.schema import duckdb_type, quote

#: Every quarantine reason, in order of precedence, with its plain-English meaning.
REASONS: dict[str, str] = {
    "unreadable_value": "value cannot be read as the column's type",
    "missing_required": "required field is empty",
    "invalid_nhs_number": "not 10 digits with a valid Modulus-11 check digit",
    "value_not_allowed": "not one of the column's allowed values",
    "out_of_range": "number outside the column's allowed range (or not finite)",
    "invalid_code": "code not well formed for its code system",
    "date_in_future": "date after the day of loading",
    "end_before_start": "end date before start date",
    "unknown_person": "NHS number not in people (this batch or the warehouse)",
    "date_before_birth": "date before the person's date of birth",
    "date_after_death": "date after the person's date of death",
    "unknown_organisation": "organisation not in organisations (this batch or the warehouse)",
    "unknown_reference": "referenced row not found (this batch or the warehouse)",
    "duplicate_in_batch": "exact copy of an earlier row of this batch (the first is kept)",
    "conflicting_duplicate_in_batch": "key appears more than once in this batch with "
    "different content (none is kept)",
    "conflicts_with_warehouse": "key already in the warehouse with different content",
    "correction_breaks_loaded_rows": "corrected date would put rows already in the warehouse "
    "before the person's birth or after their death (correction not applied)",
}

#: Values of ``Column.check`` the loader implements.
KNOWN_CHECKS = frozenset({None, "nhs_number", "code", "icd10"})

#: Temporary macros the rules use; created once per load connection.
MACROS = (
    # 11 - (weighted sum of the first nine digits mod 11); digits via ascii() so
    # that a non-digit never raises (the regexp guards the result).
    "CREATE OR REPLACE TEMP MACRO _cw_nhs_check(n) AS (11 - ("
    + " + ".join(f"(ascii(substr(n, {i}, 1)) - 48) * {11 - i}" for i in range(1, 10))
    + ") % 11)",
    "CREATE OR REPLACE TEMP MACRO _cw_nhs_valid(n) AS (CASE WHEN regexp_full_match(n, "
    "'[0-9]{10}') THEN _cw_nhs_check(n) <> 10 AND _cw_nhs_check(n) % 11 = "
    "ascii(substr(n, 10, 1)) - 48 ELSE false END)",
)


@dataclass(frozen=True)
class Rule:
    reason: str
    field: str | None
    #: SQL over the typed row ``t`` and the joined tables; true when the row fails.
    condition: str


@dataclass(frozen=True)
class CheckPlan:
    """The SQL that validates one table: typed view, joins and ordered row rules."""

    typed_select: str
    joins: tuple[str, ...]
    rules: tuple[Rule, ...]
    #: Columns of the typed view that keep the text as read (CSV, or cast Parquet).
    raw_columns: frozenset[str]

    def failures_select(self) -> str:
        """SELECT of ``_row`` and ``_rule`` (index of the first failed rule) of failing rows."""
        if not self.rules:
            return "SELECT _row, CAST(NULL AS SMALLINT) AS _rule FROM _cw_typed WHERE false"
        whens = " ".join(f"WHEN {r.condition} THEN {i}" for i, r in enumerate(self.rules))
        return (
            f"SELECT _row, _rule FROM (SELECT t._row, CAST(CASE {whens} END AS SMALLINT) AS _rule "
            f"FROM _cw_typed AS t {' '.join(self.joins)}) WHERE _rule IS NOT NULL"
        )


def raw_name(column: str) -> str:
    return f"_raw_{column}"


def typed_select(source: Source) -> tuple[str, frozenset[str]]:
    """SELECT reading the input with canonical types, numbering rows from 1 in file order.

    Returns the SQL and the columns that also keep their value as read
    (``_raw_<column>``), so that a value that cannot be cast is quarantined as
    sent rather than lost.
    """
    items = [f"{source.row_number_sql()} AS _row"]
    raw: set[str] = set()
    for col in source.table.columns:
        want = duckdb_type(col.kind)
        name = quote(col.name)
        have = source.types[col.name]
        if have == ABSENT:
            # A column added since the file was written: every value is null.
            expr = f"CAST(NULL AS {want})"
        elif source.format == "csv" and col.kind is Kind.STRING_LIST:
            # CSV cannot tell an empty list from a missing one: both read as [].
            expr = (
                f"CASE WHEN {name} IS NULL THEN CAST([] AS VARCHAR[]) ELSE list_filter("
                f"list_transform(string_split({name}, ';'), lambda x: trim(x)), "
                "lambda x: x <> '') END"
            )
            raw.add(col.name)
        elif source.format == "csv" and col.kind is not Kind.STRING:
            expr = f"TRY_CAST(trim({name}) AS {want})"
            raw.add(col.name)
        elif have != want:
            expr = f"TRY_CAST({name} AS {want})"
            raw.add(col.name)
        else:
            expr = name
        items.append(f"{expr} AS {name}")
    items.extend(f"{quote(c)} AS {quote(raw_name(c))}" for c in sorted(raw))
    return f"SELECT {', '.join(items)} FROM {source.relation_sql()}", frozenset(raw)


def end_date_pairs(table: Table) -> tuple[tuple[str, str], ...]:
    """(start, end) date columns of a table whose end may not precede its start."""
    if table.name == "people":
        return (("registered_from", "registered_to"),)
    if table.end_dates is not None:
        return table.end_dates
    if len(table.date_columns) == 2:
        return ((table.date_columns[0], table.date_columns[1]),)
    return ()


def build_plan(
    source: Source,
    *,
    today: dt.date,
    bad_code_columns: frozenset[str],
    bad_icd10_columns: frozenset[str],
) -> CheckPlan:
    """The checks for ``source``'s table.

    ``bad_code_columns`` / ``bad_icd10_columns`` name the columns for which the
    temporary tables ``_cw_bad_codes`` (code_system, code) and ``_cw_bad_icd10``
    (code) hold at least one malformed value; others skip the join.
    """
    table = source.table
    select, raw = typed_select(source)
    rules = _Rules()
    for c in table.columns:
        _column_rules(rules, table, c, raw, bad_code_columns, bad_icd10_columns)
    _date_rules(rules, table, today)
    _person_rules(rules, table)
    _reference_rules(rules, table)
    return CheckPlan(select, tuple(rules.joins), rules.ordered(), raw)


@dataclass
class _Rules:
    """Rules collected by reason (put in the order of :data:`REASONS` at the end),
    and the joins their conditions need, in the order they were added."""

    joins: list[str] = field(default_factory=list)
    by_reason: dict[str, list[Rule]] = field(default_factory=lambda: {r: [] for r in REASONS})

    def add(self, reason: str, column: str, condition: str) -> None:
        self.by_reason[reason].append(Rule(reason, column, condition))

    def ordered(self) -> tuple[Rule, ...]:
        return tuple(r for reason in REASONS for r in self.by_reason[reason])


def _col(name: str) -> str:
    return f"t.{quote(name)}"


def _as_date(table: Table, name: str) -> str:
    c = table.column(name)
    return f"CAST({_col(name)} AS DATE)" if c.kind is Kind.TIMESTAMP else _col(name)


def _column_rules(
    rules: _Rules,
    table: Table,
    c: Column,
    raw: frozenset[str],
    bad_code_columns: frozenset[str],
    bad_icd10_columns: frozenset[str],
) -> None:
    """The rules on one column's own value: readable, present, NHS number, allowed
    values, range, code syntax."""
    if c.check not in KNOWN_CHECKS:
        raise ValueError(f"{table.name}.{c.name}: no loader rule for check {c.check!r}")
    col = _col(c.name)
    if c.name in raw and c.kind is not Kind.STRING_LIST:
        rules.add(
            "unreadable_value", c.name, f"t.{quote(raw_name(c.name))} IS NOT NULL AND {col} IS NULL"
        )
    if c.required:
        cond = f"{col} IS NULL"
        if c.kind is Kind.STRING:
            cond += f" OR trim({col}) = ''"
        rules.add("missing_required", c.name, f"({cond})")
    if c.check == "nhs_number":
        cond = f"{col} IS NOT NULL AND NOT _cw_nhs_valid({col})"
        if c.name == table.person_column and table.name != "people":
            # A number found in people was checked when the person was loaded:
            # only numbers without a person need the (costlier) Modulus-11 check.
            cond = f"p.nhs_number IS NULL AND {cond}"
        rules.add("invalid_nhs_number", c.name, cond)
    if c.values is not None:
        allowed = ", ".join(_literal(v) for v in c.values)
        rules.add("value_not_allowed", c.name, f"{col} NOT IN ({allowed})")
    rules.by_reason["out_of_range"].extend(_range_rules(c, col))
    if c.check == "code" and c.name in bad_code_columns:
        alias = f"bc_{c.name}"
        rules.joins.append(
            f"LEFT JOIN _cw_bad_codes AS {alias} ON {alias}.code_system = t.code_system "
            f"AND {alias}.code = {col}"
        )
        rules.add("invalid_code", c.name, f"{alias}.code IS NOT NULL")
    if c.check == "icd10" and c.name in bad_icd10_columns:
        if c.kind is Kind.STRING_LIST:
            cond = f"list_has_any({col}, (SELECT list(code) FROM _cw_bad_icd10))"
        else:
            alias = f"bi_{c.name}"
            rules.joins.append(f"LEFT JOIN _cw_bad_icd10 AS {alias} ON {alias}.code = {col}")
            cond = f"{alias}.code IS NOT NULL"
        rules.add("invalid_code", c.name, cond)


def _date_rules(rules: _Rules, table: Table, today: dt.date) -> None:
    """No date after the day of loading; no end before its start."""
    today_sql = f"DATE '{today.isoformat()}'"
    for d in table.date_columns:
        rules.add("date_in_future", d, f"{_as_date(table, d)} > {today_sql}")
    for start, end in end_date_pairs(table):
        rules.add("end_before_start", end, f"{_as_date(table, end)} < {_as_date(table, start)}")


def _person_rules(rules: _Rules, table: Table) -> None:
    """Dates within the person's life; for activity, a person in ``people``."""
    if table.name == "people":
        for d in ("registered_from", "registered_to", "date_of_death"):
            rules.add("date_before_birth", d, f"{_col(d)} < t.date_of_birth")
        rules.add("date_after_death", "registered_from", "t.registered_from > t.date_of_death")
        return
    person = table.person_column
    if person is None:
        return
    rules.joins.append(
        "LEFT JOIN (SELECT nhs_number, date_of_birth, date_of_death FROM main.people) "
        f"AS p ON p.nhs_number = {_col(person)}"
    )
    rules.add("unknown_person", person, f"{_col(person)} IS NOT NULL AND p.nhs_number IS NULL")
    for d in table.date_columns:
        rules.add("date_before_birth", d, f"{_as_date(table, d)} < p.date_of_birth")
        rules.add("date_after_death", d, f"{_as_date(table, d)} > p.date_of_death")


def _reference_rules(rules: _Rules, table: Table) -> None:
    """References to other tables (organisations, spells) must resolve in the warehouse
    (loaded earlier in this batch or before). The person is :func:`_person_rules`'s;
    self-references are checked once the batch's own rows are known (ingest.steps)."""
    for c in table.columns:
        ref = c.references
        if ref is None or c.name == table.person_column or ref.table == table.name:
            continue
        alias = f"r_{c.name}"
        rules.joins.append(
            f"LEFT JOIN (SELECT {quote(ref.column)} AS k FROM main.{quote(ref.table)}) "
            f"AS {alias} ON {alias}.k = {_col(c.name)}"
        )
        reason = "unknown_organisation" if ref.table == "organisations" else "unknown_reference"
        rules.add(reason, c.name, f"{_col(c.name)} IS NOT NULL AND {alias}.k IS NULL")


def _range_rules(c: Column, expr: str) -> list[Rule]:
    conds: list[str] = []
    if c.kind is Kind.FLOAT:
        conds.append(f"NOT isfinite({expr})")
    if c.minimum is not None:
        conds.append(f"{expr} < {c.minimum!r}")
    if c.maximum is not None:
        conds.append(f"{expr} > {c.maximum!r}")
    if not conds:
        return []
    return [Rule("out_of_range", c.name, "(" + " OR ".join(conds) + ")")]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
