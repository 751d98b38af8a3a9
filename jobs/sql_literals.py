"""SQL literals and small constructs for the predicates, models and contract checks the jobs
build as text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sql_string(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def spark_string(value: str) -> str:
    """A Spark SQL string literal that reaches Spark exactly as written: Spark (unlike
    Trino, for which `sql_string` is enough) reads a backslash in a literal as an escape,
    so a regular expression's backslashes are doubled."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_date_list(dates: Iterable[date]) -> str:
    """DATE'2026-10-01', DATE'2026-10-02' (sorted, distinct); NULL for none, so that
    `x IN (...)` stays valid SQL and matches nothing."""
    return ", ".join(f"DATE{sql_string(d.isoformat())}" for d in sorted(set(dates))) or "NULL"


def name(identifier: str) -> str:
    """A column or field name, quoted: `name`."""
    return "`" + identifier.replace("`", "``") + "`"


def literal(value: object) -> str:
    """A literal of the type Python's value has (as pyspark's `lit` would give it)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**31) <= value < 2**31 else f"{value}L"
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)"
    if isinstance(value, datetime):
        return f"timestamp_micros({(value - EPOCH) // timedelta(microseconds=1)})"
    return spark_string(str(value))


def any_of(conditions: Iterable[str]) -> str:
    return " OR ".join(f"({c})" for c in conditions) or "false"


def all_of(conditions: Iterable[str]) -> str:
    return " AND ".join(f"({c})" for c in conditions) or "true"


def case(branches: list[tuple[str, str]], otherwise: str | None = None) -> str:
    """CASE WHEN c1 THEN v1 ... [ELSE otherwise] END."""
    whens = " ".join(f"WHEN {condition} THEN {value}" for condition, value in branches)
    return f"CASE {whens}{f' ELSE {otherwise}' if otherwise is not None else ''} END"
