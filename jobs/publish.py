"""Make the lake visible in Trino: schemas, every Delta table, the view models, the serving views."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from trino.exceptions import TrinoUserError

from jobs.definitions import Definitions
from jobs.models import Model
from jobs.object_store import s3_client
from jobs.settings import Settings
from jobs.trino_catalog import query, register_table, replace_with_view, sql_literal, trino_connection

log = logging.getLogger("publish")
SCHEMAS = ("bronze", "quarantine", "silver", "gold", "ops", "serving")


def delta_table_exists(settings: Settings, table: str) -> bool:
    schema, name = table.split(".")
    prefix = f"{settings.lake_key_prefix}{schema}/{name}/_delta_log/"
    listing = s3_client(settings).list_objects_v2(Bucket=settings.lake_bucket, Prefix=prefix, MaxKeys=1)
    return listing.get("KeyCount", 0) > 0


def publish_served(settings: Settings, definitions: Definitions, tables: list[str] | None = None) -> None:
    """Publish after a run, when Trino serves this warehouse (the object store, with
    registration on): a local-directory warehouse or a test scenario is not served.
    `tables`: those to register (all the definitions publish if None), and the views."""
    if settings.uses_object_store and settings.trino_register:
        tables = definitions.published_tables if tables is None else tables
        publish(settings, tables, definitions.views_dir, definitions.gold_views)


def publish(settings: Settings, tables: list[str], views_dir: Path, view_models: list[Model]) -> dict[str, list[str]]:
    """Idempotent: creates what is missing, registers new tables, replaces the views (the
    view models', in dependency order, then the serving views, which may read them)."""
    conn = trino_connection(settings)
    catalog = settings.serving_catalog
    for schema in SCHEMAS:
        query(
            conn,
            f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema} "
            f"WITH (location = {sql_literal(settings.trino_location(schema))})",
        )
    registered, views = [], []
    for table in tables:
        if delta_table_exists(settings, table):
            schema, name = table.split(".")
            register_table(conn, settings, schema, name)
            registered.append(table)
    for model in view_models:  # their references name tables and views of the serving catalog
        sql = model.render(lambda reference: reference, [])
        if created(model.table, partial(replace_with_view, conn, settings, model.table, sql)):
            views.append(model.table)
    for view in sorted(views_dir.glob("*.sql")):
        if created(view.stem, partial(query, conn, view.read_text().strip().rstrip(";"))):
            views.append(view.stem)
    log.info("published %d tables and %d views to Trino", len(registered), len(views))
    return {"tables": registered, "views": views}


def created(view: str, create: Callable[[], object]) -> bool:
    """Create a view; False if a table it reads does not exist yet (no run has built it)."""
    try:
        create()
    except TrinoUserError as exc:
        if exc.error_name != "TABLE_NOT_FOUND":
            raise
        log.info("view %s not created yet: %s (no run has built it)", view, exc.message)
        return False
    return True
