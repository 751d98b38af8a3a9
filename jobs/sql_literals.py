"""SQL literals for the predicates and models the jobs build as text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


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
