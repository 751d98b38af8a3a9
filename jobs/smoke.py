"""The stack's smoke job: Spark writes a small Delta table to the lake, Trino serves it.

Run with spark-submit (``lakehouse smoke`` builds the command). The rows cover the
types that most often go wrong between engines: a timestamp, an exact decimal and
nulls.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    DecimalType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.entrypoint import run_main
from jobs.preflight import check_endpoints
from jobs.settings import Settings
from jobs.spark import build_spark_session
from jobs.trino_catalog import register_table, trino_connection

log = logging.getLogger("smoke")

SCHEMA, TABLE = "ops", "stack_smoke"

SMOKE_SCHEMA = StructType(
    [
        StructField("id", IntegerType(), nullable=False),
        StructField("label", StringType()),
        StructField("amount", DecimalType(38, 18)),
        # Trino's Delta connector reads timestamps as timestamp(3) with time zone:
        # millisecond values survive the trip exactly.
        StructField("observed_at", TimestampType()),
    ]
)

SMOKE_ROWS = [
    (
        1,
        "alpha",
        Decimal("12345678901234567890.123456789012345678"),
        datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC),
    ),
    (2, "beta", Decimal("-0.000000000000000001"), datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    (3, None, None, None),
]


def smoke_frame(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(SMOKE_ROWS, SMOKE_SCHEMA)


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="smoke", description=__doc__).parse_args(argv)
    settings = Settings.load()
    started = time.monotonic()
    check_endpoints(settings, buckets=[settings.lake_bucket], trino=True)

    spark = build_spark_session(settings, "lakehouse-smoke")
    path = settings.table_path(SCHEMA, TABLE)
    frame = smoke_frame(spark)
    frame.write.format("delta").mode("overwrite").save(path)
    log.info("wrote %d rows to %s in %.1f s", frame.count(), path, time.monotonic() - started)

    if settings.uses_object_store:
        newly = register_table(trino_connection(settings), settings, SCHEMA, TABLE)
        log.info("%s %s.%s in Trino", "registered" if newly else "already registered", SCHEMA, TABLE)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_main(main)
