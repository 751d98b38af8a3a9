"""Trino seen from the jobs: connect, create schemas, register Delta tables."""

from __future__ import annotations

import trino
from trino.exceptions import TrinoUserError

from jobs.errors import EndpointUnreachable
from jobs.settings import Settings


def trino_connection(settings: Settings, user: str | None = None) -> trino.dbapi.Connection:
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=user or settings.trino_user,
        catalog=settings.trino_catalog,
        http_scheme="http",
        request_timeout=120,
    )


def query(conn: trino.dbapi.Connection, sql: str, params: list | None = None) -> list[list]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def check_trino(settings: Settings) -> None:
    try:
        query(trino_connection(settings), "SELECT 1")
    except TrinoUserError:
        raise
    except Exception as exc:  # connection refused, timeouts: the client raises several kinds
        raise EndpointUnreachable(
            f"Trino at {settings.trino_host}:{settings.trino_port} is not reachable "
            f"({exc.__class__.__name__}); is it running? (make up)"
        ) from None


def register_table(conn: trino.dbapi.Connection, settings: Settings, schema: str, table: str) -> bool:
    """Make a Delta table written by Spark visible in Trino. Returns True if newly registered.

    Trino reads the Delta log on every query, so a registered table needs no refresh
    after Spark commits to it.
    """
    catalog = settings.trino_catalog
    query(
        conn,
        f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema} "
        f"WITH (location = {sql_literal(settings.trino_location(schema))})",
    )
    exists = query(
        conn,
        f"SELECT count(*) FROM {catalog}.information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    )[0][0]
    if exists:
        return False
    # CALL takes no prepared-statement parameters: quote the literals ourselves.
    query(
        conn,
        f"CALL {catalog}.system.register_table(schema_name => {sql_literal(schema)}, "
        f"table_name => {sql_literal(table)}, "
        f"table_location => {sql_literal(settings.trino_location(schema, table))})",
    )
    return True


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
