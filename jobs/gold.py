"""Building the gold models (I/O): each model's SQL runs in Spark and replaces its table,
or only the business dates a run touched, or appends what its source gained."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date

from pyspark.sql import SparkSession

from jobs.curation import lake
from jobs.models import SEEDS_DIR, Model, ModelError, load_models
from jobs.settings import Settings

log = logging.getLogger("gold")

LINEAGE = "run_id"  # the run that curated a source row; incremental models carry it along


def build_gold(spark: SparkSession, settings: Settings, dates: list[date],
               models: list[Model] | None = None) -> dict[str, int]:
    """Build every model (full ones entirely, by_date ones for `dates`, incremental ones
    with their source's new rows on `dates`); returns the versions of the tables written."""
    models = models if models is not None else load_models()
    dates = sorted(set(dates))

    def resolve(name: str, only_rows: str | None = None) -> str:
        schema, table = name.split(".")
        if schema == "seed":
            view = f"seed_{table}"
            if not spark.catalog.tableExists(view):
                seed = (SEEDS_DIR / f"{table}.csv").resolve().as_uri()
                spark.read.option("header", "true").csv(seed).createOrReplaceTempView(view)
            return view
        source = f"delta.`{settings.table_path(schema, table)}`"
        if only_rows is None:
            return source
        view = f"pending_{schema}_{table}"
        spark.sql(f"SELECT * FROM {source} WHERE {only_rows}").createOrReplaceTempView(view)
        return view

    versions: dict[str, int] = {}
    for model in models:
        if model.by_dates and not dates:
            continue
        started = time.monotonic()
        path = settings.table_path(*model.table.split("."))
        columns = lake.table_columns(spark, path)
        if model.refresh == "once" and columns is not None:
            continue  # static data (a calendar, a seed): built once
        if model.refresh == "incremental" and columns is not None and LINEAGE in columns:
            source_path = settings.table_path(*model.incremental_source.split("."))
            pending = unmodelled_runs(spark, source_path, path, model.date_column, dates)
            if not pending:
                log.info("%-32s nothing new on %d date(s)", model.table, len(dates))
                continue
            only_pending = pending_condition(pending, model.date_column)
            frame = spark.sql(model.render(
                lambda name: resolve(name, only_pending if name == model.incremental_source else None), dates))
            frame.write.format("delta").mode("append").save(path)
            done = f"appended the rows of {sum(map(len, pending.values()))} (date, run) pair(s)"
        else:
            if model.refresh == "incremental" and columns is not None:
                # A table from before incremental refresh (no lineage column): rebuilt once, whole.
                source_path = settings.table_path(*model.incremental_source.split("."))
                build_dates = source_dates(spark, source_path, model.date_column)
            else:
                build_dates = dates
            frame = spark.sql(model.render(resolve, build_dates))
            if model.refresh == "incremental" and LINEAGE not in frame.columns:
                raise ModelError(f"{model.source}: an incremental model selects its source's {LINEAGE}")
            writer = frame.write.format("delta").mode("overwrite")
            if model.refresh != "by_date" or columns is None:
                writer = writer.option("overwriteSchema", "true")
                if model.partition_by:
                    writer = writer.partitionBy(*model.partition_by)
            else:
                writer = writer.option("replaceWhere", f"{model.date_column} IN ({date_list(dates)})")
            writer.save(path)
            done = f"{len(build_dates)} date(s) recomputed" if model.by_dates else "rebuilt"
        versions[model.table] = lake.table_version(spark, path)
        log.info("%-32s %s in %.1f s", model.table, done, time.monotonic() - started)
    return versions


def unmodelled_runs(spark: SparkSession, source_path: str, model_path: str, date_column: str,
                    dates: list[date]) -> dict[date, list[str]]:
    """{date: run ids} of the source rows on `dates` the model does not hold yet.

    Pairs, not run ids alone: a run killed before gold leaves rows on several dates, and a
    later run may append them one date at a time. A (date, run) pair is all or nothing in
    both tables (one MERGE commit inserts it into the source, one append into the model),
    so comparing pairs finds every missing row without joining row keys."""

    def pairs(path: str) -> set[tuple[date, str]]:
        rows = (spark.read.format("delta").load(path).where(f"{date_column} IN ({date_list(dates)})")
                .select(date_column, LINEAGE).distinct().collect())
        return {(r[0], r[1]) for r in rows}

    pending: dict[date, list[str]] = defaultdict(list)
    for day, run_id in sorted(pairs(source_path) - pairs(model_path)):
        pending[day].append(run_id)
    return dict(pending)


def source_dates(spark: SparkSession, path: str, date_column: str) -> list[date]:
    rows = spark.read.format("delta").load(path).select(date_column).distinct().collect()
    return sorted(r[0] for r in rows if r[0] is not None)


def date_list(dates: list[date]) -> str:
    return ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(dates))) or "NULL"


def pending_condition(pending: dict[date, list[str]], date_column: str) -> str:
    """A predicate that keeps the source rows of the pending (date, run) pairs."""
    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return " OR ".join(f"({date_column} = DATE'{day.isoformat()}' AND {LINEAGE} IN ({', '.join(map(quoted, runs))}))"
                       for day, runs in sorted(pending.items()))
