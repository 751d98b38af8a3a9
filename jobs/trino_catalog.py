"""Trino seen from the jobs: connect, create schemas, register Delta tables, create views."""

from __future__ import annotations

import requests
from trino.auth import BasicAuthentication
from trino.exceptions import HttpError, TrinoUserError

import trino
from jobs.errors import CredentialsRejected, EndpointUnreachable
from jobs.settings import Settings


def trino_connection(settings: Settings, as_analyst: bool = False) -> trino.dbapi.Connection:
    """A connection as the pipeline (writes the catalog) or as the read-only analyst,
    logged in with that identity's password when one is configured."""
    user, password = (
        (settings.trino_analyst_user, settings.trino_analyst_password)
        if as_analyst
        else (settings.trino_user, settings.trino_password)
    )
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=user,
        auth=BasicAuthentication(user, password) if password else None,
        catalog=settings.serving_catalog,
        http_scheme=settings.trino_scheme,
        http_session=trusting(settings.trino_ca_file),
        request_timeout=120,
    )


def trusting(ca_file: str) -> requests.Session:
    """An HTTP session that verifies Trino's certificate against `ca_file` (the system's
    CAs if ""). requests lets REQUESTS_CA_BUNDLE in the environment override a session's
    own `verify`, so the session ignores the environment (Trino is never behind a proxy)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file or True
    return session


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
    except HttpError as exc:
        if " 401" not in str(exc):
            raise
        raise CredentialsRejected(
            f"Trino at {settings.trino_host}:{settings.trino_port} refused the login of {settings.trino_user!r}: "
            "a missing or wrong password (LAKEHOUSE_TRINO_PASSWORD)"
        ) from None
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
    catalog = settings.serving_catalog
    query(
        conn,
        f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema} "
        f"WITH (location = {sql_literal(settings.trino_location(schema))})",
    )
    exists = query(
        conn,
        f"SELECT count(*) FROM {catalog}.information_schema.tables WHERE table_schema = ? AND table_name = ?",
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


def replace_with_view(conn: trino.dbapi.Connection, settings: Settings, table: str, sql: str) -> None:
    """`table` (schema.name) as a view of `sql`. A Delta table registered under that name
    (a model that was a table before) is unregistered first: its files are left where they are."""
    catalog, (schema, name) = settings.serving_catalog, table.split(".")
    kind = query(
        conn,
        f"SELECT table_type FROM {catalog}.information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    )
    if kind and kind[0][0] == "BASE TABLE":
        query(
            conn,
            f"CALL {catalog}.system.unregister_table(schema_name => {sql_literal(schema)}, "
            f"table_name => {sql_literal(name)})",
        )
    query(conn, f"CREATE OR REPLACE VIEW {catalog}.{schema}.{name} AS\n{sql}")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
