"""Failover to the backup object store: real MinIO processes stopped by their pid, the
endpoint watch (jobs/endpoints.py) choosing, MinIO's site replication catching up.

Every test leaves both MinIOs running and caught up (the module fixture restarts what a
test stopped), so that the tests after these find the stack as they expect it."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.curation.lake import table_versions
from jobs.endpoints import check_endpoints, listing, run_buckets
from jobs.trino_catalog import query
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import (
    DAY1,
    SILVER,
    checksums,
    env_for,
    lake,
    ledger,
    path_of,
    silver_keys,
    truth_keys,
)
from tests.integration.test_airflow import BASE, dags_test, generate, runs_of
from tests.integration.test_faults import TABLES, one_clear_error_line, run_day

pytestmark = pytest.mark.integration

RUN_DIR = Path(os.environ.get("LAKEHOUSE_STATE", ROOT / ".local")) / "run"
OUTAGE_DAY = BASE + timedelta(days=120)  # the daily DAG's day during the outage (served lake)


def stop_minio(name: str) -> None:
    """Stop one MinIO of the stack by the pid its start recorded, and wait until it is gone."""
    pid = int((RUN_DIR / f"{name}.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"{name} (pid {pid}) did not stop"
        time.sleep(0.2)


def start_stack() -> None:
    """`make up`'s script: starts what is stopped (the MinIOs), leaves the rest running."""
    result = run(["bash", "scripts/stack.sh", "up"], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def caught_up(settings) -> None:
    """Wait until the watch sends runs on the whole lake and raw buckets to the primary
    again: replication has caught up."""
    started = time.monotonic()
    everything = settings.with_overrides(warehouse=f"s3a://{settings.lake_bucket}", raw_uri="", s3_catch_up_seconds=300)
    chosen = check_endpoints(everything, buckets=run_buckets(everything), trino=False)
    assert chosen.s3_endpoint_name == "primary"
    print(f"replication caught up {time.monotonic() - started:.1f} s after the check began")


@pytest.fixture(scope="module")
def both_minios(settings):
    yield
    start_stack()
    caught_up(settings)


def test_a_run_on_a_healthy_primary_uses_it_and_the_ledger_says_so(spark, clean_day1):
    scenario, _ = clean_day1
    rows = ledger(spark, scenario)
    assert rows and {r.object_store for r in rows} == {f"primary={scenario.s3_endpoint}"}


def test_with_the_primary_stopped_the_cli_and_the_daily_dag_run_on_the_backup_and_the_primary_takes_over_after(
    spark, settings, dataset, trino_conn, both_minios
):
    scenario = lake(settings, dataset, "failover")
    generate(settings, OUTAGE_DAY)  # landed before the outage
    stop_minio("minio")

    started = time.monotonic()
    code, lines = run_day(env_for(scenario), DAY1)
    assert code == 0, "\n".join(lines[-40:])
    assert any("object store primary is away" in line and "the run uses backup" in line for line in lines)
    print(f"CLI run on the backup: {time.monotonic() - started:.0f} s")

    dag = dags_test("lakehouse_daily", OUTAGE_DAY + timedelta(days=1))
    assert dag.returncode == 0, dag.stdout[-5000:] + dag.stderr[-3000:]
    outage_sql = (
        "SELECT transaction_hash, log_index, value FROM silver.token_transfers "
        f"WHERE business_date = DATE '{OUTAGE_DAY}' ORDER BY 1, 2"
    )
    during = query(trino_conn, outage_sql)  # Trino follows the watch: its catalog reads the backup
    assert len(during) > 1000

    start_stack()
    caught_up(settings)
    # Converged: the primary holds exactly what the backup holds.
    primary, backup = (
        scenario.on_endpoint(e) for e in sorted(scenario.object_store_endpoints, key=lambda e: e.name != "primary")
    )
    assert listing(primary, run_buckets(scenario)) == listing(backup, run_buckets(scenario))

    # What the runs on the backup wrote is on the primary: the ledger says where, silver is the truth.
    rows = ledger(spark, scenario)
    assert [r.object_store.partition("=")[0] for r in rows] == ["backup", "backup"]  # running, succeeded
    for table in SILVER[:2]:
        assert silver_keys(spark, scenario, table) == truth_keys(settings, [DAY1], table), table
    dag_run = runs_of(spark, settings, [OUTAGE_DAY])[-1]
    assert dag_run.status == "succeeded" and dag_run.object_store.startswith("backup=")
    assert silver_keys(spark, settings, "silver.token_transfers", [dag_run.run_id]) == truth_keys(
        settings, [OUTAGE_DAY], "silver.token_transfers", ""
    )

    # The next run goes to the primary, sees the backup's commits and inserts nothing twice.
    paths = {t: path_of(scenario, t) for t in TABLES}
    versions = table_versions(spark, paths)
    code, lines = run_day(env_for(scenario), DAY1)
    assert code == 0, "\n".join(lines[-40:])
    rerun = ledger(spark, scenario)[-1]
    assert rerun.object_store.startswith("primary=") and rerun.unchanged_since == rows[-1].run_id
    assert table_versions(spark, paths) == versions

    # Trino, back on the primary once the watch runs, returns what it returned on the backup.
    check = run([str(ROOT / ".venv/bin/lakehouse"), "check"])
    assert check.returncode == 0 and check.stdout.strip().splitlines()[-1] == "primary", check.stderr[-2000:]
    assert query(trino_conn, outage_sql) == during


def test_the_primary_stopped_mid_run_fails_that_attempt_and_the_retry_on_the_backup_equals_a_clean_run(
    spark, settings, dataset, clean_day1, both_minios
):
    scenario = lake(settings, dataset, "failover-mid-run")
    # The retry waits out the lease of the lock the dead attempt could not release.
    env = {**env_for(scenario), "LAKEHOUSE_LOCK_WAIT_SECONDS": "90"}
    code, lines = run_day(env, DAY1, trigger=r"stage quarantine ", strike=lambda: stop_minio("minio"))
    assert code != 0
    one_clear_error_line(lines)

    code, lines = run_day(env, DAY1)
    assert code == 0, "\n".join(lines[-40:])
    assert any("the run uses backup" in line for line in lines)

    start_stack()
    caught_up(settings)
    assert checksums(spark, scenario, TABLES) == checksums(spark, clean_day1[0], TABLES)
    statuses = [(r.status, r.object_store.partition("=")[0]) for r in ledger(spark, scenario)]
    assert statuses[-1] == ("succeeded", "backup") and [s for s, _ in statuses].count("succeeded") == 1


def test_with_both_endpoints_down_a_run_fails_in_one_line_naming_both_and_leaves_the_ledger_alone(
    spark, settings, dataset, clean_day1, both_minios
):
    scenario, _ = clean_day1
    before = ledger(spark, scenario)
    stop_minio("minio")
    stop_minio("minio-backup")
    code, lines = run_day(env_for(scenario), DAY1)
    assert code == 2
    error = one_clear_error_line(lines)
    assert "no object store endpoint answers" in error
    for endpoint in scenario.object_store_endpoints:
        assert f"{endpoint.name}: object store at {endpoint.url} is not reachable" in error
    start_stack()
    caught_up(settings)
    assert ledger(spark, scenario) == before
