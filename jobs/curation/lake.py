"""Delta I/O of the curation job: the few places where tables change.

Every write is one atomic Delta commit and is idempotent on its own, so a run killed
between any two of them and run again converges to what one clean run writes:
- bronze:      replaceWhere on the run's source files (rewritten identically)
- quarantine:  insert-only MERGE on (source_file, line_number), pruned by landing date
- silver:      insert-only MERGE on the business key, pruned by business date
- tokens:      MERGE that replaces a row only with a newer block
- ops tables:  append (the ledger) / insert-only MERGE (ingested files)
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql.types import DateType, NumericType, StructType, TimestampNTZType, TimestampType

from jobs.sql_literals import sql_date_list, sql_string

log = logging.getLogger("lake")


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    inserted: int
    updated: int
    source_rows: int


def _first_row(frame: DataFrame) -> Row:
    """The first row of a query that always has one (a table's history, DESCRIBE DETAIL)."""
    row = frame.first()
    assert row is not None, "the query returned no row"
    return row


# A table's commits, by the Delta protocol: _delta_log/<version, 20 digits>.json.
COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def hadoop_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """(file system, path) of Hadoop's, through the session: the same calls for a local
    directory and an object store."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a live session has its JVM
    hadoop = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop


def table_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version; None if there is no table. Read from the names in its
    log, without loading the table's state: a snapshot load reads the last checkpoint and
    every commit since (seconds for a dozen tables on an object store; this, a listing)."""
    filesystem, log_dir = hadoop_path(spark, f"{path.rstrip('/')}/_delta_log")
    if not filesystem.exists(log_dir):
        return None
    versions = [
        int(match.group(1))
        for status in filesystem.listStatus(log_dir)
        if (match := COMMIT_FILE.match(status.getPath().getName()))
    ]
    return max(versions) if versions else None


def table_columns(spark: SparkSession, path: str) -> list[str] | None:
    """The columns of an existing table; None if there is no table."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return DeltaTable.forPath(spark, path).toDF().columns


def table_versions(spark: SparkSession, paths: dict[str, str]) -> dict[str, int]:
    """The current version of each existing table ({name: path}); absent tables are left out.
    Looked up a few at a time: each mostly waits on the store."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = dict(zip(paths, pool.map(lambda path: table_version(spark, path), paths.values()), strict=False))
    return {name: version for name, version in versions.items() if version is not None}


def _last_commit(spark: SparkSession, path: str) -> tuple[int, dict]:
    row = _first_row(DeltaTable.forPath(spark, path).history(1).select("version", "operationMetrics"))
    return int(row[0]), {k: int(v) for k, v in (row[1] or {}).items() if v is not None and v.lstrip("-").isdigit()}


# Delta keeps min/max statistics of the first 32 columns of every file it writes, and
# copies each string value to compare it: on bronze's payload text and silver's hashes
# that was a third of a write's CPU, for statistics that prune nothing (keys are matched
# by a join, not skipped by range). Statistics are kept for the columns predicates prune
# with: dates, numbers, timestamps, and the source file of a line (not flags: Delta
# refuses statistics on booleans).
STATISTICS_PROPERTY = "delta.dataSkippingStatsColumns"
PRUNING_STRING_COLUMNS = ("source_file",)
RANGED_TYPES = (NumericType, DateType, TimestampType, TimestampNTZType)


def statistics_columns(schema: StructType, partition_by: list[str] | tuple[str, ...] = ()) -> str:
    """The columns of `schema` that keep statistics. Not partition columns: they are pruned
    by their partition values (and Delta refuses statistics on them, and on flags)."""
    return ",".join(
        f.name
        for f in schema.fields
        if f.name not in partition_by and (isinstance(f.dataType, RANGED_TYPES) or f.name in PRUNING_STRING_COLUMNS)
    )


def declare_statistics_columns(spark: SparkSession, paths: list[str]) -> list[str]:
    """Give the existing tables that were created before STATISTICS_PROPERTY was set their
    statistics columns (a metadata-only commit, once per table); returns those paths."""

    def declare(path: str) -> str | None:
        if not DeltaTable.isDeltaTable(spark, path):
            return None
        table = f"delta.`{path}`"
        if any(r[0] == STATISTICS_PROPERTY for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()):
            return None
        partition_by = _first_row(spark.sql(f"DESCRIBE DETAIL {table}").select("partitionColumns"))[0]
        columns = statistics_columns(spark.read.format("delta").load(path).schema, partition_by)
        spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('{STATISTICS_PROPERTY}' = {sql_string(columns)})")
        return path

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [path for path in pool.map(declare, paths) if path]


def create_if_absent(spark: SparkSession, path: str, rows: DataFrame, partition_by: list[str]) -> bool:
    """Create the table from the first batch; False if it already exists."""
    if DeltaTable.isDeltaTable(spark, path):
        return False
    writer = (
        rows.write.format("delta")
        .mode("errorifexists")
        .option(STATISTICS_PROPERTY, statistics_columns(rows.schema, partition_by))
    )
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)
    return True


def date_range_condition(column: str, dates: list[date], look_back_days: int) -> str:
    """A predicate Delta can prune files (or partitions) with."""
    low = min(dates) - timedelta(days=look_back_days)
    return f"t.{column} BETWEEN DATE{sql_string(low.isoformat())} AND DATE{sql_string(max(dates).isoformat())}"


def landing_date_condition(dates: list[date], alias: str = "t") -> str:
    """A MERGE's pruning predicate for a table of lines keyed by their source file: a
    file's lines all carry its folder's landing date (`event_date`), so a run's rows can
    only match rows on the landing dates it read, and the MERGE scans those alone, not the
    whole history. (A row without a date, which the layout rules out, is scanned too.)
    `alias`: the table's name in the predicate ("" for a plain filter)."""
    column = f"{alias}.event_date" if alias else "event_date"
    return f"({column} IN ({sql_date_list(dates)}) OR {column} IS NULL)"


def merge_insert_only(
    spark: SparkSession,
    table: str,
    path: str,
    rows: DataFrame,
    key: list[str],
    prune: str | None,
    partition_by: list[str],
) -> WriteResult:
    """Insert the rows whose key is not in the table yet. `rows` must already be
    unique on the key (a MERGE does not deduplicate its source)."""
    if create_if_absent(spark, path, rows, partition_by):
        version, metrics = _last_commit(spark, path)
        inserted = metrics.get("numOutputRows", 0)
        return WriteResult(table, version, inserted, 0, inserted)
    condition = " AND ".join([*([prune] if prune else []), *[f"t.{k} = s.{k}" for k in key]])
    before = table_version(spark, path)
    (DeltaTable.forPath(spark, path).alias("t").merge(rows.alias("s"), condition).whenNotMatchedInsertAll().execute())
    return _merge_result(spark, table, path, before)


def _merge_result(spark: SparkSession, table: str, path: str, version_before: int | None) -> WriteResult:
    """A MERGE that changes nothing may not commit: then nothing was inserted, and the
    last commit's metrics belong to an earlier write."""
    version, metrics = _last_commit(spark, path)
    if version == version_before:
        return WriteResult(table, version, 0, 0, -1)
    return WriteResult(
        table,
        version,
        metrics.get("numTargetRowsInserted", 0),
        metrics.get("numTargetRowsUpdated", 0),
        metrics.get("numSourceRows", -1),
    )


def merge_latest(
    spark: SparkSession, table: str, path: str, rows: DataFrame, key: list[str], latest_by: str
) -> WriteResult:
    """Upsert a dimension: a row is replaced only by a strictly newer state."""
    if create_if_absent(spark, path, rows, []):
        version, metrics = _last_commit(spark, path)
        inserted = metrics.get("numOutputRows", 0)
        return WriteResult(table, version, inserted, 0, inserted)
    before = table_version(spark, path)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(rows.alias("s"), " AND ".join(f"t.{k} = s.{k}" for k in key))
        .whenMatchedUpdateAll(condition=f"s.{latest_by} > t.{latest_by}")
        .whenNotMatchedInsertAll()
        .execute()
    )
    return _merge_result(spark, table, path, before)


def merge_additions(
    spark: SparkSession,
    path: str,
    rows: DataFrame,
    key: list[str],
    prune: str,
    whole: str,
    unseen: str,
    added: dict[str, str],
    whole_dates: str,
) -> None:
    """An additive aggregate takes in its rows in one commit: a source row where `whole`
    holds replaces its target row; otherwise one whose contribution the target row does
    not hold yet (`unseen`) is added to it with the `added` expressions; a new key is
    inserted, and a row left on a date computed whole (`whole_dates`) is deleted.
    `prune`: a predicate on the target's rows that keeps every row the source can match."""
    condition = " AND ".join([prune, *[f"t.{k} <=> s.{k}" for k in key]])
    columns = [c for c in rows.columns if c != whole]
    additions: dict[str, str | Column] = {**added}
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(rows.alias("s"), condition)
        .whenMatchedUpdate(condition=f"s.{whole}", set={c: f"s.{c}" for c in columns})
        .whenMatchedUpdate(condition=unseen, set=additions)
        .whenNotMatchedInsert(values={c: f"s.{c}" for c in columns})
        .whenNotMatchedBySourceDelete(condition=whole_dates)
        .execute()
    )


def replace_source_files(
    spark: SparkSession, table: str, path: str, rows: DataFrame, landing_dates: list[date], files: list[str]
) -> WriteResult:
    """Bronze: the run's files are replaced as a whole, so re-reading a file never
    duplicates it and a rerun writes the same rows."""
    if create_if_absent(spark, path, rows, ["event_date"]):
        version, metrics = _last_commit(spark, path)
        return WriteResult(table, version, metrics.get("numOutputRows", 0), 0, metrics.get("numOutputRows", 0))
    predicate = (
        f"event_date IN ({sql_date_list(landing_dates)}) AND source_file IN ({', '.join(map(sql_string, files))})"
    )
    rows.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(path)
    version, metrics = _last_commit(spark, path)
    return WriteResult(table, version, metrics.get("numOutputRows", 0), 0, metrics.get("numOutputRows", 0))


def append(spark: SparkSession, path: str, rows: DataFrame, merge_schema: bool = False) -> int:
    writer = rows.write.format("delta").mode("append")
    if merge_schema:  # the ledger gains columns over time; old rows read them as null
        writer = writer.option("mergeSchema", "true")
    writer.save(path)
    return _last_commit(spark, path)[0]


def restore(spark: SparkSession, path: str, version: int | None) -> None:
    """Back to `version`; a table that did not exist then is emptied."""
    if not DeltaTable.isDeltaTable(spark, path):
        return
    if version is None or version < 0:
        DeltaTable.forPath(spark, path).delete()
    else:
        DeltaTable.forPath(spark, path).restoreToVersion(version)


# -- upkeep: compaction, checkpoints, VACUUM ------------------------------------------------


def file_count(spark: SparkSession, path: str) -> int:
    """How many data files the table's current version reads."""
    return int(_first_row(DeltaTable.forPath(spark, path).detail().select("numFiles"))[0])


def snapshot_bytes(spark: SparkSession, path: str) -> int:
    """The bytes of the data files the table's current version reads (not those VACUUM
    keeps for time travel, nor the log)."""
    return int(_first_row(DeltaTable.forPath(spark, path).detail().select("sizeInBytes"))[0])


def keep_removed_files_for(spark: SparkSession, path: str, days: int) -> None:
    """Declare how long files a version no longer reads are kept (VACUUM honours it, and
    time travel, hence RESTORE, reaches back that far); one commit, only if it changes."""
    interval = f"interval {days} days"
    wanted = {"delta.deletedFileRetentionDuration": interval, "delta.logRetentionDuration": interval}
    current = _first_row(DeltaTable.forPath(spark, path).detail().select("properties"))[0] or {}
    if any(current.get(key) != value for key, value in wanted.items()):
        assignments = ", ".join(f"{sql_string(key)} = {sql_string(value)}" for key, value in wanted.items())
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")


def compact(spark: SparkSession, path: str) -> None:
    """Delta's OPTIMIZE: the small files of each partition rewritten into few (bin-packing);
    one commit that changes no row, so readers and MERGEs see the same data."""
    DeltaTable.forPath(spark, path).optimize().executeCompaction()


def checkpoint(spark: SparkSession, path: str) -> None:
    """A checkpoint of the log now: readers (Spark, Trino) load the table state from one
    Parquet file instead of replaying every JSON commit since the last one."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a live session has its JVM
    none = jvm.scala.Option.empty()
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    # Of the latest version: the log's cached snapshot may predate the commits just made
    # (OPTIMIZE), and Delta refuses a checkpoint that does not match the table.
    delta_log.checkpoint(delta_log.update(False, none, none), none)


def vacuum(spark: SparkSession, path: str, days: int) -> None:
    """Delta's VACUUM: delete the files no version of the last `days` days reads."""
    DeltaTable.forPath(spark, path).vacuum(days * 24.0)
