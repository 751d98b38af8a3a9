"""A run's validated lines, staged once in columnar form and read back column by column.

The validation pass is the expensive one (reading, JSON, the contracts' expressions); the
stages after it (bronze, quarantine, one MERGE per silver table, the counts) each need a
few of its columns. So it runs once and lands in a Delta table of the run's own, under
the warehouse's `_staging/`: a later stage reads only its columns (and, in a struct of
conformed values, only its table's), where a cache of whole rows was read whole by each.

The table is the run's scratch space: dropped when the run is done, and any left by a run
that was killed is dropped by the next (the warehouse lock makes runs one at a time).
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession

from jobs.curation import lake, transform
from jobs.curation.context import RunContext
from jobs.settings import Settings
from jobs.validation import validate

log = logging.getLogger("curate")

STAGING_DIR = "_staging"


def staging_root(settings: Settings) -> str:
    return f"{settings.warehouse.rstrip('/')}/{STAGING_DIR}"


def staging_path(settings: Settings, run_id: str) -> str:
    return f"{staging_root(settings)}/{run_id}"


def stage(spark: SparkSession, rows: DataFrame, path: str) -> DataFrame:
    """Write `rows` once to `path` and read them back from there. No statistics: nothing
    prunes files of a table that is read whole, column by column."""
    rows.write.format("delta").mode("overwrite").option("delta.dataSkippingNumIndexedCols", "0").save(path)
    return spark.read.format("delta").load(path)


def drop(spark: SparkSession, path: str) -> bool:
    """Delete a staged table (or all of `_staging/`); False if there was nothing."""
    filesystem, staged = lake.hadoop_path(spark, path)
    return bool(filesystem.exists(staged) and filesystem.delete(staged, True))


def drop_leftovers(spark: SparkSession, settings: Settings) -> list[str]:
    """Drop the staged tables of runs that were killed before they could drop their own;
    returns those runs. (On an object store, a run that dropped its own table leaves
    `_staging/` behind, empty: that is no leftover.)"""
    filesystem, root = lake.hadoop_path(spark, staging_root(settings))
    if not filesystem.exists(root):
        return []
    runs = sorted(status.getPath().getName() for status in filesystem.listStatus(root))
    if runs:
        filesystem.delete(root, True)
        log.info("dropped the staged lines of earlier runs that did not finish: %s", ", ".join(runs))
    return runs


def stage_validated(ctx: RunContext, lines: DataFrame) -> DataFrame:
    """Validate `lines` against the run's contracts, stage the result (dropping what
    earlier runs left) and count it into `ctx.counts`; returns the staged table, which
    `drop(ctx.spark, staging_path(ctx.settings, ctx.run_id))` deletes."""
    drop_leftovers(ctx.spark, ctx.settings)
    validated = transform.with_landing_date(validate(lines, ctx.registry)).transform(
        transform.raw_lines_of_quarantined_only
    )
    staged = stage(ctx.spark, validated, staging_path(ctx.settings, ctx.run_id))
    ctx.counts.update(transform.run_counts(staged, ctx.registry.target_tables))
    return staged
