"""Baseline 1 (spark-submit job): the naive way to land a day of events in Delta.

Read the JSON lines, drop duplicate root_ids, append to a Delta table. No contracts, no
quarantine, no history, no data model: the floor our job's Spark work is compared with.
"""

import sys

from pyspark.sql.types import StringType, StructField, StructType

from jobs.settings import Settings
from jobs.spark import build_spark_session

ENVELOPE = StructType(
    [
        StructField(name, StringType())
        for name in (
            "event_type",
            "schema_version",
            "payload",
            "collector_tstamp",
            "root_id",
            "collector_id",
            "enriched_tstamp",
        )
    ]
)


def main(source: str, target: str) -> None:
    spark = build_spark_session(Settings.load(), "bench naive spark")
    # The envelope schema is given (not inferred): inference would read the input twice.
    # A gzip file cut short fails the whole job otherwise: the naive way is to skip it.
    events = spark.read.schema(ENVELOPE).option("ignoreCorruptFiles", "true").json(source)
    events.dropDuplicates(["root_id"]).write.format("delta").mode("append").save(target)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
