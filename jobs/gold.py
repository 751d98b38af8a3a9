"""Building the gold models (I/O): each model's SQL runs in Spark and replaces its table,
or only the business dates a run touched."""

from __future__ import annotations

import logging
import time
from datetime import date

from pyspark.sql import SparkSession

from jobs.curation import lake
from jobs.models import SEEDS_DIR, Model, load_models
from jobs.settings import Settings

log = logging.getLogger("gold")


def build_gold(spark: SparkSession, settings: Settings, dates: list[date],
               models: list[Model] | None = None) -> dict[str, int]:
    """Recompute every model (full ones entirely, by_date ones for `dates`); returns versions."""
    models = models if models is not None else load_models()

    def resolve(name: str) -> str:
        schema, table = name.split(".")
        if schema == "seed":
            view = f"seed_{table}"
            if not spark.catalog.tableExists(view):
                seed = (SEEDS_DIR / f"{table}.csv").resolve().as_uri()
                spark.read.option("header", "true").csv(seed).createOrReplaceTempView(view)
            return view
        return f"delta.`{settings.table_path(schema, table)}`"

    versions: dict[str, int] = {}
    for model in models:
        if model.refresh == "by_date" and not dates:
            continue
        started = time.monotonic()
        path = settings.table_path(*model.table.split("."))
        exists = lake.table_version(spark, path) is not None
        if model.refresh == "once" and exists:
            continue  # static data (a calendar, a seed): built once
        frame = spark.sql(model.render(resolve, dates))
        writer = frame.write.format("delta").mode("overwrite")
        if model.refresh != "by_date" or not exists:
            writer = writer.option("overwriteSchema", "true")
            if model.partition_by:
                writer = writer.partitionBy(*model.partition_by)
        else:
            listed = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(dates)))
            writer = writer.option("replaceWhere", f"{model.date_column} IN ({listed})")
        writer.save(path)
        versions[model.table] = lake.table_version(spark, path)
        log.info("%-32s %s in %.1f s", model.table,
                 "rebuilt" if model.refresh != "by_date" else f"{len(set(dates))} date(s) recomputed",
                 time.monotonic() - started)
    return versions
