"""The baselines our job is measured against: naive Spark (a spark-submit job), and DuckDB
on a local copy of the day's files (the same work is bench/duckdb_same_work.py; here, the
single-node floor)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from jobs.contracts import load_contracts
from jobs.object_store import s3_client
from jobs.settings import PROJECT_ROOT, Settings
from jobs.spark import spark_submit_command

LOCAL_RAW_DIR = PROJECT_ROOT / ".local" / "bench" / "raw"


def readable_files(folder: Path) -> list[str]:
    """The files DuckDB can read: a gzip file cut short fails its whole query (our job
    quarantines such a file with reason corrupt_file)."""
    from jobs.reader import decompress

    paths = sorted(folder.glob("*/*.jsonl.gz"))
    return [str(p) for p in paths if decompress(p.read_bytes(), str(p))[1] is None]


def local_copy(settings: Settings, target: Settings, day: date) -> Path:
    """The day's raw files on local disk, for DuckDB (its S3 support is a separate download)."""
    bucket, prefix = target.raw_bucket_and_prefix
    folder = LOCAL_RAW_DIR / prefix.strip("/") / f"event_date={day}"
    client = s3_client(settings)
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}event_date={day}/")
        for obj in page.get("Contents", [])
    ]
    for key in keys:
        path = folder / key.split(f"event_date={day}/", 1)[1]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, key, str(path))
    return folder


def naive_spark(settings: Settings, target: Settings, day: date) -> float:
    command = spark_submit_command(
        target,
        PROJECT_ROOT / "bench" / "naive_spark.py",
        [f"{target.raw_uri}/event_date={day}/*/*.jsonl.gz", target.table_path("naive", "events")],
    )
    env = {
        **os.environ,
        "LAKEHOUSE_WAREHOUSE": target.warehouse,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    started = time.monotonic()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-5000:])
        raise SystemExit("bench: the naive Spark baseline failed")
    return time.monotonic() - started


# (e') the single-node floor: a light validation, no contracts, no reasons, no output.


# (e') the single-node floor: a light validation, no contracts, no reasons, no output.
DUCKDB_DAILY = """
WITH lines AS (
    SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true,
                            maximum_object_size = 16777216,
                            columns = {event_type: 'VARCHAR', schema_version: 'VARCHAR', payload: 'JSON',
                                       collector_tstamp: 'VARCHAR', root_id: 'VARCHAR',
                                       collector_id: 'VARCHAR', enriched_tstamp: 'VARCHAR'})
), valid AS (  -- light validation: the envelope is complete, the type is known, the time parses
    SELECT *, try_strptime(collector_tstamp, '%Y-%m-%d %H:%M:%S %z') AS collected_at FROM lines
    WHERE root_id IS NOT NULL AND payload IS NOT NULL AND schema_version IS NOT NULL
      AND event_type IN ('YellowTaxiTripRecords', 'EthereumTokenTransfer', 'EthereumToken')
), deduplicated AS (
    SELECT * FROM valid WHERE collected_at IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY root_id ORDER BY collected_at) = 1
)
SELECT event_type,
       coalesce(CAST(payload ->> 'block_timestamp' AS DATE),
                CAST(try_strptime(payload ->> 'tpep_pickup_datetime', '%Y-%m-%d %H:%M:%S') AS DATE)) AS business_date,
       count(*) AS events,
       sum(TRY_CAST(payload ->> 'fare_amount' AS DOUBLE)) AS fares,
       count(DISTINCT payload ->> 'token_address') AS tokens
FROM deduplicated GROUP BY ALL
"""


def duckdb_floor(files: list[str]) -> tuple[float, int]:
    import duckdb

    started = time.monotonic()
    rows = duckdb.connect().execute(DUCKDB_DAILY, [files]).fetchall()
    return time.monotonic() - started, sum(r[2] for r in rows)


def same_counts(ours: dict[str, int], duck: dict[str, int]) -> bool:
    """Whether the DuckDB baseline read, quarantined and kept what our first run did."""
    quarantined = ours["quarantined_unparseable"] + ours["quarantined_contract"]
    kept = [(ours.get(f"deduplicated:{table}"), duck.get(table)) for table in load_contracts().target_tables]
    return (ours["lines_read"], ours["valid"], quarantined) == (
        duck["lines_read"],
        duck["valid"],
        duck["quarantine"],
    ) and all(a == b for a, b in kept)
