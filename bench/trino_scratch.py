"""Trino over a bench warehouse: its tables registered for a measurement in a schema of
their own (dropped after), and dashboard-style queries timed as Trino counts them.

Bench warehouses are not the served one, so the catalog does not know their tables;
`registered` gives them names for as long as the measurement lasts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from jobs.settings import Settings
from jobs.trino_catalog import query, trino_connection


@contextmanager
def registered(settings: Settings, warehouse: Settings, schema: str, tables: list[str]) -> Iterator[dict[str, str]]:
    """Register `tables` ("layer.name") of `warehouse` as `<catalog>.<schema>.<layer>_<name>`;
    yields {table: its qualified name in Trino}, and unregisters them and drops the schema
    afterwards."""
    conn = trino_connection(settings)
    catalog = settings.serving_catalog
    names = {table: f"{catalog}.{schema}.{table.replace('.', '_')}" for table in tables}
    location = warehouse.trino_location(schema)
    query(conn, f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema} WITH (location = '{location}')")
    done: list[str] = []
    try:
        for table in tables:
            layer, name = table.split(".", 1)
            query(
                conn,
                f"CALL {catalog}.system.register_table(schema_name => '{schema}', "
                f"table_name => '{layer}_{name}', table_location => '{warehouse.trino_location(layer, name)}')",
            )
            done.append(table)
        yield names
    finally:
        for table in done:
            query(
                conn,
                f"CALL {catalog}.system.unregister_table(schema_name => '{schema}', "
                f"table_name => '{table.replace('.', '_')}')",
            )
        query(conn, f"DROP SCHEMA IF EXISTS {catalog}.{schema}")


def plain_columns(settings: Settings, qualified: str) -> list[str]:
    """The columns of a registered table that are not arrays, maps or rows."""
    catalog, schema, table = qualified.split(".")
    rows = query(
        trino_connection(settings),
        f"SELECT column_name, data_type FROM {catalog}.information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{table}'",
    )
    return [name for name, kind in rows if not kind.startswith(("array", "map", "row"))]


def dashboard_query(table: str, columns: list[str], first: date, last: date, date_column: str = "business_date") -> str:
    """Per day of [first, last]: the rows and the distinct values of every column, so that
    every column is read."""
    distincts = ", ".join(f"approx_distinct({c})" for c in columns)
    return (
        f"SELECT {date_column}, count(*), {distincts} FROM {table} "
        f"WHERE {date_column} BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY {date_column}"
    )


def timed(conn, sql: str, repeats: int = 3) -> dict:
    """The fastest of `repeats` runs (a warm Trino): seconds as Trino counts them, and GB read."""
    best = None
    for _ in range(repeats):
        cursor = conn.cursor()
        cursor.execute(sql)
        cursor.fetchall()
        stats = cursor.stats
        cursor.close()
        run = {"seconds": stats["elapsedTimeMillis"] / 1000, "gb": stats["physicalInputBytes"] / 1e9}
        best = run if best is None or run["seconds"] < best["seconds"] else best
    assert best is not None
    return best
