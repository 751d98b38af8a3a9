"""Pure steps of the curation job: DataFrames in, DataFrames out, no I/O."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.contract_model import Contract
from jobs.validation import struct_name


# The order in which duplicates compete: the first one collected wins, and ties are
# broken by identity, so a rerun keeps exactly the same row. (A function: columns
# need an active Spark session.)
def arrival_order() -> list[Column]:
    return [F.col("collector_tstamp").asc_nulls_last(), F.col("root_id"), F.col("source_file"), F.col("line_number")]


def folder_date(source_file: Column) -> Column:
    """The landing date in the path: .../event_date=YYYY-MM-DD/hour=HH/..."""
    landed = F.regexp_extract(source_file, r"event_date=(\d{4}-\d{2}-\d{2})", 1)
    return F.when(landed != "", F.to_date(landed))


def with_landing_date(validated: DataFrame) -> DataFrame:
    return validated.withColumn("event_date", folder_date(F.col("source_file")))


def raw_lines_of_quarantined_only(validated: DataFrame) -> DataFrame:
    """A valid line lives on in bronze (payload text) and silver (typed columns); only a
    quarantined line needs its raw text kept (the widest column a run stages on disk)."""
    return validated.withColumn("line", F.when(F.size("reasons") > 0, F.col("line")))


def bronze_events(validated: DataFrame, window_start: str) -> DataFrame:
    """Every parsed envelope, payload kept as JSON text, with its file and line."""
    return validated.where("parsed").select(
        "event_date",
        "source_file",
        "line_number",
        "event_type",
        "schema_version",
        "root_id",
        "collector_id",
        "collector_tstamp",
        "enriched_tstamp",
        "payload_json",
        "contract_id",
        (F.size("reasons") == 0).alias("is_valid"),
        F.lit(window_start).cast("date").alias("ingested_by_window"),
    )


def quarantine_events(validated: DataFrame, run_id: str) -> DataFrame:
    """Every line with a reason: the raw line, where it came from, why, and which run."""
    return validated.where(F.size("reasons") > 0).select(
        "event_date",
        "source_file",
        "line_number",
        F.col("line").alias("raw_line"),
        "reasons",
        F.col("reasons")[0].alias("primary_reason"),
        "event_type",
        "schema_version",
        F.lit(run_id).alias("run_id"),
        F.lit(None).cast("string").alias("replayed_by_run_id"),
    )


def silver_candidates(validated: DataFrame, contract: Contract, run_id: str) -> DataFrame:
    """Valid events of one silver table: conformed, upcast columns plus envelope metadata."""
    typed = struct_name(contract.target_table)
    return validated.where((F.size("reasons") == 0) & (F.col("event_type") == contract.event_type)).select(
        F.col(f"{typed}.business_date").alias("business_date"),
        *[F.col(f"{typed}.{column}").alias(column) for column in contract.columns],
        "root_id",
        "collector_id",
        "collector_tstamp",
        "schema_version",
        "event_date",
        F.lit(run_id).alias("run_id"),
        # kept for deterministic tie-breaking; dropped before writing
        "source_file",
        "line_number",
    )


def first_per_key(rows: DataFrame, key: list[str], order: list[Column] | None = None) -> DataFrame:
    """One row per business key: exact replays (same root_id) and re-sends (new root_id,
    same business content) both collapse onto the first arrival."""
    rank = F.row_number().over(Window.partitionBy(*key).orderBy(*(order or arrival_order())))
    return rows.withColumn("_rank", rank).where("_rank = 1").drop("_rank")


def keys_and_dates(candidates: DataFrame, key: list[str]) -> tuple[int, list]:
    """How many distinct business keys the rows hold (the rows a dedupe keeps), and the
    business dates they fall on, sorted; one aggregation."""
    row = candidates.agg(
        F.count_distinct(F.struct(*key)).alias("keys"), F.collect_set("business_date").alias("dates")
    ).first()
    assert row is not None  # a global aggregation has one row
    return int(row["keys"]), sorted(d for d in row["dates"] if d is not None)


def latest_per_key(rows: DataFrame, key: list[str], latest_by: str) -> DataFrame:
    """A dimension keeps the newest state of each key (highest `latest_by`)."""
    return first_per_key(rows, key, [F.col(latest_by).desc(), *arrival_order()])


def without_tiebreakers(rows: DataFrame) -> DataFrame:
    return rows.drop("source_file", "line_number")


def run_counts(validated: DataFrame, tables: dict[str, str]) -> dict[str, int]:
    """The accounting of one window, in a single aggregation over the validated lines."""
    valid = F.size("reasons") == 0
    aggregates = [
        F.count(F.lit(1)).alias("lines_read"),
        F.sum(F.when(~F.col("parsed"), 1).otherwise(0)).alias("quarantined_unparseable"),
        F.sum(F.when(F.col("parsed"), 1).otherwise(0)).alias("events_parsed"),
        F.sum(F.when(F.col("parsed") & ~valid, 1).otherwise(0)).alias("quarantined_contract"),
        F.sum(F.when(valid, 1).otherwise(0)).alias("valid"),
        F.count_distinct(F.when(valid, F.col("root_id"))).alias("valid_distinct_root_ids"),
    ]
    for table, event_type in tables.items():
        aggregates.append(
            F.sum(F.when(valid & (F.col("event_type") == event_type), 1).otherwise(0)).alias(f"valid:{table}")
        )
    row = validated.agg(*aggregates).first()
    assert row is not None  # a global aggregation has one row
    return {key: int(value or 0) for key, value in row.asDict().items()}
