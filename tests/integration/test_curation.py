"""The curation job against real MinIO and Delta, checked against the generator's truth.

Each scenario has its own warehouse under s3a://lakehouse/tests/..., and reads one of
two generated datasets under s3a://enriched-events/tests/...; runs happen in this
process (the shared Spark session) except where the command line or a killed driver
is the point of the test.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import timedelta

import pytest
from pyspark.sql import functions as F

from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.lock import LockTimeout, PipelineLock
from jobs.curation.maintenance import replay_quarantine, rollback_run
from jobs.curation.plan import RunWindow, list_folder
from jobs.curation.table_upkeep import maintain_tables
from jobs.curation.tables import path_of
from jobs.definitions import DEFINITIONS_DIR
from jobs.errors import LakehouseError
from jobs.models import load_models
from jobs.object_store import s3_client, split_s3_location
from jobs.trino_catalog import query
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import (
    CURATED,
    DAY1,
    DAYS,
    SILVER,
    checksums,
    clone,
    env_for,
    lake,
    ledger,
    manifest,
    read,
    silver_keys,
    truth,
    truth_keys,
)

pytestmark = pytest.mark.integration
GOLD = [model.table for model in load_models() if not model.is_view]  # the written ones


# -- one window ------------------------------------------------------------------------------


def test_silver_holds_exactly_the_ground_truth_keys(spark, settings, clean_day1):
    scenario, _ = clean_day1
    for table in SILVER:
        expected = truth_keys(settings, [DAY1], table)
        assert len(expected) > 10
        assert silver_keys(spark, scenario, table) == expected, table


def test_every_defect_is_quarantined_with_its_reason_and_nothing_else_is(spark, settings, clean_day1):
    scenario, _ = clean_day1
    expected = {}
    for line in gzip.decompress(truth(settings, DAY1, "quarantine.tsv.gz")).decode().splitlines():
        file, line_number, _category, reason = line.split("\t")
        expected[(file, int(line_number))] = reason
    prefix = f"{scenario.raw_uri}/"
    got = {
        (r.source_file.removeprefix(prefix), r.line_number): r.reasons
        for r in read(spark, scenario, "quarantine.events").collect()
    }
    assert got.keys() == expected.keys()
    assert {k: v for k, v in got.items() if v != [expected[k]]} == {}
    reasons = {reason.split(":")[0] for reason in expected.values()}
    assert reasons >= {
        "malformed_json",
        "missing_field",
        "wrong_type",
        "rule",
        "unknown_event_type",
        "unknown_schema_version",
        "invalid_utf8",
        "oversize_line",
        "corrupt_file",
    }


def test_the_ledger_accounts_for_every_line(spark, settings, clean_day1):
    scenario, _counts = clean_day1
    truth_manifest = manifest(settings, DAY1)
    corrupt_files = truth_manifest["files"]["truncated_gzip"]
    expected = truth_manifest["expected"]
    (final,) = [r for r in ledger(spark, scenario) if r.status == "succeeded"]
    c = final.counts
    assert c["lines_read"] == expected["lines_read"] + corrupt_files
    assert c["quarantined_unparseable"] == expected["unparseable"] + corrupt_files
    assert c["valid"] == expected["valid"]
    assert c["lines_read"] == c["events_parsed"] + c["quarantined_unparseable"]
    assert c["events_parsed"] == c["valid"] + c["quarantined_contract"]
    assert c["valid"] == c["inserted"] + c["duplicates_in_window"] + c["duplicates_history"]
    assert c["inserted"] == sum(len(truth_keys(settings, [DAY1], t)) for t in SILVER)
    assert c["exact_replays"] == truth_manifest["lines"]["by_category"]["exact_replay"]
    assert final.stage_seconds.keys() >= {"plan", "validate", "bronze", "quarantine", *SILVER, "gold"}
    assert final.records_per_second > 0 and final.peak_rss_bytes > 100 * 2**20
    assert set(final.versions_after) >= set(CURATED)


def test_late_events_land_in_their_own_business_date(spark, settings, clean_day1):
    scenario, _ = clean_day1
    expected = manifest(settings, DAY1)["expected"]["silver"]["silver.token_transfers"]["by_business_date"]
    assert len(expected) >= 3  # the day itself, and late days before it
    got = {
        str(r.business_date): r["count"]
        for r in read(spark, scenario, "silver.token_transfers").groupBy("business_date").count().collect()
    }
    assert got == expected


# -- several windows -------------------------------------------------------------------------


def test_a_run_merges_its_lines_by_source_file_against_its_landing_dates_only(spark, settings, clean_day1):
    """The quarantine and the ingested files are keyed by source file, and a file's lines
    all carry its landing date: a run reads and MERGEs those tables on the landing dates it
    reads, so their cost stays flat as history grows. Shown on a warehouse whose data
    files of those tables from day 1 are gone (their logs kept): a run of the next day
    without grace days that read any of them would fail."""
    scenario = clone(settings, clean_day1[0], "landing-dates").with_overrides(grace_days=0)
    client = s3_client(scenario)
    tables = ("quarantine.events", "ops.ingested_files")
    for table in tables:
        _, prefix = split_s3_location(path_of(scenario, table))
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=scenario.lake_bucket, Prefix=prefix + "/")
        data = [o["Key"] for page in pages for o in page.get("Contents", []) if "/_delta_log/" not in o["Key"]]
        assert data, table
        client.delete_objects(Bucket=scenario.lake_bucket, Delete={"Objects": [{"Key": k} for k in data]})

    day = DAYS[1]
    counts = run_window(scenario, RunWindow(day, day + timedelta(days=1)), FaultInjection())
    files = list_folder(scenario, day)
    assert counts["quarantine_inserted"] > 0 and files
    on_day = F.col("event_date") == F.lit(day)
    assert read(spark, scenario, "quarantine.events").where(on_day).count() == counts["quarantine_inserted"]
    assert read(spark, scenario, "ops.ingested_files").where(on_day).count() == len(files)


def test_a_sequential_backfill_equals_the_single_day_runs(spark, settings, dataset, three_days):
    backfill = lake(settings, dataset, "backfill")
    result = run(
        [str(ROOT / ".venv/bin/lakehouse"), "run", "--start", str(DAYS[0]), "--end", str(DAYS[-1] + timedelta(days=1))],
        env=env_for(backfill),
    )
    assert result.returncode == 0, result.stderr[-3000:]

    single = three_days  # the same days, one run each
    assert checksums(spark, backfill) == checksums(spark, single)
    for table in SILVER:
        assert silver_keys(spark, backfill, table) == truth_keys(settings, DAYS, table), table
    runs = [r for r in ledger(spark, backfill) if r.status == "succeeded"]
    assert [r.window_start for r in runs] == DAYS


def test_a_concurrent_second_run_is_refused_with_a_clear_message(settings, dataset):
    scenario = lake(settings, dataset, "locked")
    holder = PipelineLock(scenario, "run-already-running", wait_seconds=1, lease_seconds=60)
    holder.acquire()
    try:
        with pytest.raises(LockTimeout, match="another run \\(run-already-running"):
            run_window(scenario, RunWindow(DAY1, DAY1 + timedelta(days=1)), FaultInjection())
        result = run(
            [str(ROOT / ".venv/bin/lakehouse"), "run", "--date", str(DAY1)],
            env={**env_for(scenario), "LAKEHOUSE_LOCK_WAIT_SECONDS": "2"},
        )
        assert result.returncode != 0
        assert "holds the lock" in result.stdout + result.stderr
    finally:
        holder.release()


def test_rollback_restores_the_versions_before_the_run(spark, settings, clean_day1):
    scenario = clone(settings, clean_day1[0], "rollback")  # day 1, run once
    after_day1 = checksums(spark, scenario)
    run_window(scenario, RunWindow(DAYS[1], DAYS[2]), FaultInjection())
    assert checksums(spark, scenario) != after_day1
    day1_run, day2_run = [r.run_id for r in ledger(spark, scenario) if r.status == "succeeded"]

    with pytest.raises(LakehouseError, match="runs after"):
        rollback_run(scenario, day1_run)
    rollback_run(scenario, day2_run)
    assert checksums(spark, scenario) == after_day1
    assert "rolled_back" in [r.status for r in ledger(spark, scenario) if r.run_id == day2_run]
    # the window can be run again and lands where it did before
    run_window(scenario, RunWindow(DAYS[1], DAYS[2]), FaultInjection())
    for table in SILVER:
        assert silver_keys(spark, scenario, table) == truth_keys(settings, DAYS[:2], table)


def unreferenced_files(spark, scenario, table: str) -> list[str]:
    """Files in the table's directory that its current version does not read (VACUUM's dry run)."""
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        listed = spark.sql(f"VACUUM delta.`{path_of(scenario, table)}` RETAIN 0 HOURS DRY RUN").collect()
        return [row.path for row in listed if row.path.endswith(".parquet")]
    finally:
        spark.conf.unset("spark.databricks.delta.retentionDurationCheck.enabled")


def test_maintain_compacts_without_changing_a_row_and_rollback_reaches_back_the_retention(spark, settings, three_days):
    scenario = clone(settings, three_days, "maintain")
    tables = [*CURATED, *GOLD]
    rows = checksums(spark, scenario, tables)
    files = maintain_tables(scenario)
    assert checksums(spark, scenario, tables) == rows
    assert set(tables) <= set(files) and all(after <= before for before, after in files.values()), files
    assert sum(after for _, after in files.values()) < sum(before for before, _ in files.values()), files
    (maintained,) = [r for r in ledger(spark, scenario) if r.kind == "maintain"]
    assert maintained.status == "succeeded" and maintained.counts[f"files_after:{SILVER[0]}"] == files[SILVER[0]][1]
    assert any(unreferenced_files(spark, scenario, t) for t in SILVER)  # compacted away, kept for time travel

    # Within the retention (7 days by default) a run rolls back as before maintenance.
    runs = [r.run_id for r in ledger(spark, scenario) if r.kind == "run" and r.status == "succeeded"]
    rollback_run(scenario, runs[-1])
    assert all(silver_keys(spark, scenario, table, [runs[-1]]) == set() for table in SILVER)

    # With no retention, VACUUM leaves only what the current versions read, and a rollback
    # says it cannot reach back instead of failing on missing files.
    no_retention = scenario.with_overrides(retention_days=0)
    rows = checksums(spark, scenario, tables)
    maintain_tables(no_retention)
    assert checksums(spark, scenario, tables) == rows
    assert [unreferenced_files(spark, scenario, t) for t in SILVER] == [[]] * len(SILVER)
    with pytest.raises(LakehouseError, match="versions are kept 0 days"):
        rollback_run(no_retention, runs[-2])


# -- crashes -----------------------------------------------------------------------------------

# One point per kind of durable state a crash can leave: bronze, quarantine and the first
# silver table, the second in the middle of its MERGE (the three silver MERGEs are one code
# path); all of silver, its new rows from a dead run that gold has not modelled; the
# quality results and gold; everything but the record of the ingested files. Every point
# leaves the ledger's `running` row and bronze (a kill right after planning or after bronze
# leaves a subset of the first point's state), and a stage that commits nothing, such as
# validate, leaves the state of the one before it.
CRASH_POINTS = [
    ("during", "silver.token_transfers"),
    ("after", "silver.taxi_trips"),
    ("after", "gold"),
    ("after", "ingested_files"),
]


def test_a_run_killed_at_each_point_in_turn_then_rerun_equals_a_clean_run(spark, settings, dataset, clean_day1):
    """Every attempt is the rerun of the one killed before it, and is itself killed
    (SIGKILL, no clean-up) one point later: each point is reached once by a run that
    starts from what a crash left. The last rerun completes and must equal one clean run."""
    reference, _ = clean_day1
    scenario = lake(settings, dataset, "crashes")
    for attempt, (when, stage) in enumerate(CRASH_POINTS, start=1):
        killed = run(
            [str(ROOT / ".venv/bin/lakehouse"), "run", "--date", str(DAY1), f"--kill-{when}", stage],
            env=env_for(scenario),
        )
        assert killed.returncode != 0, f"not killed {when} {stage}"  # the driver died by SIGKILL...
        statuses = [r.status for r in ledger(spark, scenario)]
        assert statuses == ["running"] * attempt, f"{when} {stage}: {statuses}"  # ...before its run completed

    run_window(scenario, RunWindow(DAY1, DAY1 + timedelta(days=1)), FaultInjection())
    tables = [*CURATED, *GOLD]
    assert checksums(spark, scenario, tables) == checksums(spark, reference, tables)


# -- elsewhere ---------------------------------------------------------------------------------


def test_trino_reads_silver_equal_to_what_spark_reads(spark, settings, dataset, trino_conn):
    scenario = settings.with_overrides(raw_uri=dataset, lock_wait_seconds=30)  # the served warehouse
    run_window(scenario, RunWindow(DAYS[0], DAYS[1]), FaultInjection())
    low, high = str(DAYS[0] - timedelta(days=5)), str(DAYS[0])
    spark_rows = sorted(
        (r.transaction_hash, r.log_index, r.value, r.block_timestamp.timestamp(), str(r.business_date))
        for r in read(spark, scenario, "silver.token_transfers")
        .where(f"business_date BETWEEN '{low}' AND '{high}'")
        .collect()
    )
    trino_rows = sorted(
        (r[0], r[1], r[2], r[3].timestamp(), str(r[4]))
        for r in query(
            trino_conn,
            "SELECT transaction_hash, log_index, value, block_timestamp, business_date "
            f"FROM silver.token_transfers WHERE business_date BETWEEN DATE '{low}' AND DATE '{high}'",
        )
    )
    assert len(trino_rows) > 1000 and trino_rows == spark_rows
    spark_taxi = sorted(
        (str(r.total_amount), r.pu_location_id, r.pickup_at.timestamp())
        for r in read(spark, scenario, "silver.taxi_trips")
        .where(f"business_date BETWEEN '{low}' AND '{high}'")
        .collect()
    )
    trino_taxi = sorted(
        (str(r[0]), r[1], r[2].timestamp())
        for r in query(
            trino_conn,
            "SELECT total_amount, pu_location_id, pickup_at FROM silver.taxi_trips "
            f"WHERE business_date BETWEEN DATE '{low}' AND DATE '{high}'",
        )
    )
    assert len(trino_taxi) > 100 and trino_taxi == spark_taxi


@pytest.mark.xdist_group("isolated")  # a warehouse of its own: evens out the workers' loads
def test_quarantined_events_are_replayed_after_a_contract_fix(spark, settings, dataset, tmp_path):
    strict = tmp_path / "models"
    shutil.copytree(DEFINITIONS_DIR, strict)
    token = strict / "contracts" / "EthereumToken-1-0-0.yaml"  # a too-strict rule: 18 decimals rejected
    token.write_text(token.read_text().replace("min: 0, max: 255}", "min: 0, max: 17}"))
    scenario = lake(settings, dataset, "replay", definitions_dir=str(strict))
    run_window(scenario, RunWindow(DAY1, DAY1 + timedelta(days=1)), FaultInjection())
    quarantined = read(spark, scenario, "quarantine.events")
    # quarantined for decimals alone: the 18s the strict rule refuses (and any injected > 255;
    # a line with a second defect stays quarantined after the fix)
    decimals = [
        json.loads(r.raw_line)["payload"]["decimals"]
        for r in quarantined.where("reasons = array('rule:decimals_range')").select("raw_line").collect()
    ]
    wrongly = sum(1 for d in decimals if d <= 255)
    assert wrongly > 10
    assert silver_keys(spark, scenario, "silver.tokens") != truth_keys(settings, [DAY1], "silver.tokens")

    fixed = scenario.with_overrides(definitions_dir="")
    counts = replay_quarantine(fixed)
    assert counts["valid"] >= wrongly
    assert silver_keys(spark, fixed, "silver.tokens") == truth_keys(settings, [DAY1], "silver.tokens")
    for table in ("silver.taxi_trips", "silver.token_transfers"):
        assert silver_keys(spark, fixed, table) == truth_keys(settings, [DAY1], table)
    still = read(spark, fixed, "quarantine.events").where("replayed_by_run_id IS NULL")
    assert still.count() == read(spark, fixed, "quarantine.events").count() - counts["valid"]
    # what is still quarantined for decimals is really out of range (an injected defect)
    decimals = [
        json.loads(r.raw_line)["payload"]["decimals"]
        for r in still.where("reasons = array('rule:decimals_range')").collect()
    ]
    assert all(d > 255 for d in decimals)
    # The replay went on as a run does: gold rebuilt from the fixed silver, its checks recorded.
    (replay,) = [r for r in ledger(spark, fixed) if r.kind == "replay" and r.status == "succeeded"]
    tokens = {r.address for r in read(spark, fixed, "silver.tokens").select("address").collect()}
    assert {r.token_address for r in read(spark, fixed, "gold.dim_token").collect()} == tokens
    checked = read(spark, fixed, "ops.quality_results").where(F.col("run_id") == replay.run_id)
    assert {r.table_name for r in checked.select("table_name").distinct().collect()} >= {"silver.tokens"}


def test_a_run_drops_the_staged_lines_a_killed_run_left_and_names_no_run_that_finished(spark, settings):
    from jobs.curation import staging

    scenario = lake(settings, settings.raw_uri, "staging")
    rows = spark.range(3).withColumnRenamed("id", "line_number")
    finished = staging.staging_path(scenario, "run-finished")
    staging.stage(spark, rows, finished)
    assert staging.drop(spark, finished)  # what a run does at its end; `_staging/` stays on MinIO
    assert staging.drop_leftovers(spark, scenario) == []
    staging.stage(spark, rows, staging.staging_path(scenario, "run-killed"))
    assert staging.drop_leftovers(spark, scenario) == ["run-killed"]
    assert staging.drop_leftovers(spark, scenario) == []
    assert not staging.drop(spark, staging.staging_path(scenario, "run-killed"))
