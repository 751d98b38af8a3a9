"""The pure steps of the curation job, on tiny explicit DataFrames."""

from datetime import datetime

from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType
from pyspark.testing import assertDataFrameEqual

from jobs.curation.transform import first_per_key, folder_date, latest_per_key

SCHEMA = StructType(
    [
        StructField("address", StringType()),
        StructField("block_number", LongType()),
        StructField("root_id", StringType()),
        StructField("collector_tstamp", TimestampType()),
        StructField("source_file", StringType()),
        StructField("line_number", LongType()),
    ]
)
T = datetime(2026, 11, 20, 12, 0, 0)
LATER = datetime(2026, 11, 20, 12, 0, 5)


def test_first_arrival_wins_for_replays_and_resends(spark):
    rows = spark.createDataFrame(
        [
            ("0xa", 1, "r2", LATER, "f1", 9),  # a re-send: new root id, later
            ("0xa", 1, "r1", T, "f1", 3),  # the original
            ("0xa", 1, "r1", T, "f2", 1),  # an exact replay in another file
            ("0xb", 7, "r3", T, "f1", 4),
        ],
        SCHEMA,
    )
    expected = spark.createDataFrame([("0xa", 1, "r1", T, "f1", 3), ("0xb", 7, "r3", T, "f1", 4)], SCHEMA)
    assertDataFrameEqual(first_per_key(rows, ["address"]), expected)


def test_a_dimension_keeps_its_newest_state(spark):
    rows = spark.createDataFrame(
        [
            ("0xa", 5, "r1", LATER, "f1", 1),
            ("0xa", 9, "r2", T, "f1", 2),  # collected earlier, but a newer block
            ("0xa", 9, "r3", LATER, "f2", 1),  # the same block again: the first arrival wins
        ],
        SCHEMA,
    )
    expected = spark.createDataFrame([("0xa", 9, "r2", T, "f1", 2)], SCHEMA)
    assertDataFrameEqual(latest_per_key(rows, ["address"], "block_number"), expected)


def test_the_landing_date_comes_from_the_path(spark):
    frame = spark.createDataFrame(
        [("s3a://raw/event_date=2026-11-20/hour=03/collector-1-00000.jsonl.gz",), ("/x/y.jsonl.gz",)], ["path"]
    )
    assert [r[0] for r in frame.select(folder_date(frame.path)).collect()] == [datetime(2026, 11, 20).date(), None]


def test_statistics_are_kept_for_ranged_columns_and_the_source_file_only():
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DateType,
        IntegerType,
        StringType,
        StructField,
        StructType,
        TimestampType,
    )

    from jobs.curation.lake import statistics_columns

    schema = StructType(
        [
            StructField(name, kind)
            for name, kind in [
                ("event_date", DateType()),
                ("source_file", StringType()),
                ("line_number", IntegerType()),
                ("payload_json", StringType()),
                ("is_valid", BooleanType()),
                ("reasons", ArrayType(StringType())),
                ("collector_tstamp", TimestampType()),
            ]
        ]
    )
    assert statistics_columns(schema) == "event_date,source_file,line_number,collector_tstamp"
    assert statistics_columns(schema, ["event_date"]) == "source_file,line_number,collector_tstamp"
