"""The backup object store and the endpoint watch, on a MinIO pair of the tests' own.

`scripts/stack.sh object-store` with BACKUP=1 starts two MinIO processes on free ports,
each on its own data directory, and joins them with MinIO's site replication (as
`make up BACKUP=1` does for the local stack). The watch (jobs/endpoint_watch.py) is
asked which endpoint a run should use while the primary is up, stopped by its pid,
restarted, and with both stopped.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.endpoint_watch import choose_object_store
from jobs.errors import EndpointUnreachable
from jobs.object_store import delta_log_heads, s3_client
from jobs.settings import Settings
from jobs.trino_catalog import query, trino_connection
from tests.conftest import ROOT, run
from tests.integration.airflowhelpers import dags_test
from tests.integration.lakehelpers import DAYS, RATES, SILVER, env_for, ledger, read, silver_keys, truth_keys
from tests.integration.toxiproxy import free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("isolated")]
LAKEHOUSE = str(ROOT / ".venv/bin/lakehouse")


@dataclass(frozen=True)
class Pair:
    state: Path
    env: dict[str, str]
    settings: Settings  # what the jobs read for this pair: both endpoints, primary first

    @property
    def primary(self) -> Settings:
        return self.settings.with_overrides(s3_endpoint=self.settings.object_store_endpoints[0])

    @property
    def backup(self) -> Settings:
        return self.settings.with_overrides(s3_endpoint=self.settings.object_store_endpoints[1])

    @property
    def buckets(self) -> list[str]:
        return [self.settings.lake_bucket, self.settings.raw_bucket]

    def start(self) -> None:
        result = run(["bash", "scripts/stack.sh", "object-store"], env=self.env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]

    def stop(self, server: str) -> None:
        """Stop one MinIO by the pid its start recorded (SIGTERM, as an outage a host sees)."""
        pid = int((self.state / "run" / f"{server}.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        eventually(lambda: not Path(f"/proc/{pid}").exists(), f"{server} (pid {pid}) did not stop")


def eventually(condition: Callable[[], bool], failure: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.5)


def exists(settings: Settings, key: str, bucket: str = "") -> bool:
    try:
        s3_client(settings).head_object(Bucket=bucket or settings.lake_bucket, Key=key)
    except ClientError:
        return False
    return True


def commit(settings: Settings, table: dict[str, str], version: int) -> None:
    """A Delta commit file of the table, written through this endpoint."""
    (location,) = table.values()
    key = f"{location.removeprefix(f's3a://{settings.lake_bucket}/')}/_delta_log/{version:020d}.json"
    s3_client(settings).put_object(Bucket=settings.lake_bucket, Key=key, Body=b'{"commitInfo":{}}\n')


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[Pair]:
    state = tmp_path_factory.mktemp("object-store-pair")
    shutil.copy(ROOT / ".local" / "secrets.env", state / "secrets.env")
    env = {
        "LAKEHOUSE_STATE": str(state),
        "BACKUP": "1",
        # buckets of other names than the stack's: the tests' Spark session reads these
        # through the pair (a per-bucket endpoint) and the stack's through its MinIO
        "RAW_BUCKET": "failover-events",
        "LAKE_BUCKET": "failover-lake",
        **{name: str(free_port()) for name in ("MINIO_PORT", "MINIO_CONSOLE_PORT")},
        **{name: str(free_port()) for name in ("MINIO_BACKUP_PORT", "MINIO_BACKUP_CONSOLE_PORT")},
        **{name: str(free_port()) for name in ("TRINO_PORT", "TRINO_INTERNAL_PORT")},  # pair_trino
    }
    started = run(["bash", "scripts/stack.sh", "object-store"], env=env, timeout=300)
    assert started.returncode == 0, started.stderr[-3000:]
    pair = Pair(state, env, Settings.load({"LAKEHOUSE_ENV_FILE": str(state / "lakehouse.env")}))
    assert len(pair.settings.object_store_endpoints) == 2
    yield pair
    run(["bash", "scripts/stack.sh", "object-store-down"], env=env, timeout=120)


@pytest.fixture(scope="module")
def pair_trino(pair: Pair) -> Settings:
    """A Trino of the pair's own (`scripts/stack.sh trino`), its catalogs as `make up BACKUP=1`
    makes them: `delta` through the primary, `delta_backup` through the backup. Returns the
    settings that reach it."""
    shutil.copytree(ROOT / ".local" / "tls", pair.state / "tls", dirs_exist_ok=True)
    started = run(["bash", "scripts/stack.sh", "trino"], env=pair.env, timeout=600)
    assert started.returncode == 0, started.stderr[-3000:]
    return pair.settings


def a_table(pair: Pair) -> dict[str, str]:
    return {"silver.trips": f"s3a://{pair.settings.lake_bucket}/failover-{uuid.uuid4().hex[:6]}/silver/trips"}


def test_the_backup_receives_what_is_written_through_the_primary_and_the_watch_prefers_the_primary(pair):
    table = a_table(pair)
    commit(pair.primary, table, 0)
    eventually(lambda: delta_log_heads(pair.backup, table) == {"silver.trips": 0}, "not replicated to the backup")
    # the jobs' own user reads the backup: site replication copied the users and policies
    choice = choose_object_store(pair.settings, pair.buckets, table)
    assert choice.endpoint == pair.primary.s3_endpoint and choice.is_primary and choice.passed_over == ()


def test_with_the_primary_stopped_runs_go_to_the_backup_and_back_once_the_primary_has_caught_up(pair):
    table = a_table(pair)
    commit(pair.primary, table, 0)
    eventually(lambda: delta_log_heads(pair.backup, table) == {"silver.trips": 0}, "not replicated to the backup")

    pair.stop("minio")
    started = time.monotonic()
    choice = choose_object_store(pair.settings, pair.buckets, table)
    decided = time.monotonic() - started
    assert choice.endpoint == pair.backup.s3_endpoint and not choice.is_primary
    (reason,) = choice.passed_over
    assert pair.primary.s3_endpoint in reason and "not reachable" in reason
    print(f"failover decided in {decided:.2f} s")
    assert decided < 10  # short timeouts: a refused connection is not retried for long

    commit(pair.backup, table, 1)  # a run made on the backup during the outage
    pair.start()  # the primary returns; replication brings it the backup's commit
    eventually(
        lambda: choose_object_store(pair.settings, pair.buckets, table).is_primary,
        "the watch never went back to the primary",
    )
    # back on the primary only once it lists what the backup committed: its log does not fork
    assert delta_log_heads(pair.primary, table) == delta_log_heads(pair.backup, table) == {"silver.trips": 1}


def test_with_the_primary_stopped_the_cli_runs_on_the_backup_and_the_primary_carries_on_from_its_commits(pair, spark):
    dataset = f"runs-{uuid.uuid4().hex[:6]}"
    sink = ObjectStoreBucket.as_loader(pair.primary, pair.settings.raw_bucket, dataset + "/")
    for day in DAYS[:2]:
        generate_day(GeneratorConfig(day=day, events=2_000, seed=7, rates=RATES), sink, workers=2)
    scenario = pair.settings.with_overrides(
        warehouse=f"s3a://{pair.settings.lake_bucket}/{dataset}",
        raw_uri=f"s3a://{pair.settings.raw_bucket}/{dataset}",
        trino_register=False,
    )
    env = {"LAKEHOUSE_ENV_FILE": str(pair.state / "lakehouse.env"), **env_for(scenario)}
    # The backup holds everything in the end (replication runs both ways): the tests read there.
    spark.sparkContext._jsc.hadoopConfiguration().set(
        f"fs.s3a.bucket.{pair.settings.lake_bucket}.endpoint", pair.backup.s3_endpoint
    )
    last_truth = f"{dataset}/_truth/event_date={DAYS[1]}/manifest.json"
    eventually(lambda: exists(pair.backup, last_truth, pair.settings.raw_bucket), "raw days not on the backup")

    pair.stop("minio")
    on_backup = run([LAKEHOUSE, "run", "--date", str(DAYS[0])], env=env)
    assert on_backup.returncode == 0, on_backup.stderr[-3000:]
    (first,) = [r for r in ledger(spark, scenario) if r.status == "succeeded"]
    assert first.object_store_endpoint == pair.backup.s3_endpoint
    for table in SILVER:
        assert silver_keys(spark, scenario, table) == truth_keys(pair.backup, DAYS[:1], table, dataset), table
    versions_on_backup = first.versions_after

    pair.start()
    # what the watch compares
    tables = {name: path_of(scenario, name) for name in Definitions.load(scenario).published_tables}
    eventually(
        lambda: delta_log_heads(pair.primary, tables) == delta_log_heads(pair.backup, tables),
        "the backup's commits never reached the primary",
    )
    on_primary = run([LAKEHOUSE, "run", "--date", str(DAYS[1])], env=env)
    assert on_primary.returncode == 0, on_primary.stderr[-3000:]
    second = [r for r in ledger(spark, scenario) if r.status == "succeeded"][-1]
    assert second.object_store_endpoint == pair.primary.s3_endpoint
    assert second.versions_before == versions_on_backup  # it started from the backup's commits
    for table in SILVER:  # nothing inserted twice, nothing lost
        assert silver_keys(spark, scenario, table) == truth_keys(pair.primary, DAYS[:2], table, dataset), table


def test_the_primary_stopped_in_the_middle_of_a_run_fails_that_attempt_and_the_retry_lands_on_the_backup(pair, spark):
    dataset = f"midrun-{uuid.uuid4().hex[:6]}"
    day = DAYS[2]
    sink = ObjectStoreBucket.as_loader(pair.primary, pair.settings.raw_bucket, dataset + "/")
    generate_day(GeneratorConfig(day=day, events=2_000, seed=11, rates=RATES), sink, workers=2)
    scenario = pair.settings.with_overrides(
        warehouse=f"s3a://{pair.settings.lake_bucket}/{dataset}",
        raw_uri=f"s3a://{pair.settings.raw_bucket}/{dataset}",
        trino_register=False,
    )
    env = {**os.environ, "LAKEHOUSE_ENV_FILE": str(pair.state / "lakehouse.env"), **env_for(scenario)}
    spark.sparkContext._jsc.hadoopConfiguration().set(
        f"fs.s3a.bucket.{pair.settings.lake_bucket}.endpoint", pair.backup.s3_endpoint
    )
    manifest_key = f"{dataset}/_truth/event_date={day}/manifest.json"
    eventually(lambda: exists(pair.backup, manifest_key, pair.settings.raw_bucket), "raw day not on the backup")

    attempt = subprocess.Popen(
        [LAKEHOUSE, "run", "--date", str(day)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert attempt.stdout is not None
    output = []
    for line in attempt.stdout:  # the primary goes away once the run has committed bronze
        output.append(line)
        if "stage bronze" in line:
            pair.stop("minio")
            break
    output += attempt.stdout.readlines()
    assert attempt.wait(timeout=600) != 0, "".join(output[-50:])
    errors = [line for line in output if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in "".join(output), "".join(output[-50:])

    retry = run([LAKEHOUSE, "run", "--date", str(day)], env=env)  # what Airflow's retry does
    assert retry.returncode == 0, retry.stderr[-3000:]
    done = [r for r in ledger(spark, scenario) if r.status == "succeeded"]
    assert [r.object_store_endpoint for r in done] == [pair.backup.s3_endpoint]
    for table in SILVER:  # the retry's tables are one clean run's: every valid event once
        assert silver_keys(spark, scenario, table) == truth_keys(pair.backup, [day], table, dataset), table
    quarantined = read(spark, scenario, "quarantine.events").count()
    truth = json.loads(
        s3_client(pair.backup).get_object(Bucket=pair.settings.raw_bucket, Key=manifest_key)["Body"].read()
    )
    assert quarantined == sum(truth["expected"]["quarantine_by_reason"].values())
    pair.start()


def served(settings: Settings) -> dict[str, list[str]]:
    """Every silver row as Trino serves it, through the catalog that reads `settings`' endpoint."""
    conn = trino_connection(settings)
    return {table: sorted(map(repr, query(conn, f"SELECT * FROM {table}"))) for table in SILVER}


def test_the_daily_dag_runs_on_the_backup_and_trino_serves_the_same_rows_after_the_outage(pair, pair_trino, spark):
    dataset = f"dag-{uuid.uuid4().hex[:6]}"
    before = date(2023, 1, 1) + timedelta(days=random.randrange(0, 360))  # a logical date of its own
    during = before + timedelta(days=1)
    sink = ObjectStoreBucket.as_loader(pair.primary, pair.settings.raw_bucket, dataset + "/")
    for day in (before, during):
        generate_day(GeneratorConfig(day=day, events=2_000, seed=day.toordinal(), rates=RATES), sink, workers=2)
    scenario = pair.settings.with_overrides(
        warehouse=f"s3a://{pair.settings.lake_bucket}/{dataset}", raw_uri=f"s3a://{pair.settings.raw_bucket}/{dataset}"
    )
    env = {"LAKEHOUSE_ENV_FILE": str(pair.state / "lakehouse.env"), **env_for(scenario)}
    spark.sparkContext._jsc.hadoopConfiguration().set(
        f"fs.s3a.bucket.{pair.settings.lake_bucket}.endpoint", pair.backup.s3_endpoint
    )
    # Before the outage: a day curated through the primary and published to Trino's `delta`.
    on_primary = run([LAKEHOUSE, "run", "--date", str(before)], env=env)
    assert on_primary.returncode == 0, on_primary.stderr[-3000:]
    before_outage = served(pair_trino)
    assert all(before_outage.values()), before_outage.keys()
    last_truth = f"{dataset}/_truth/event_date={during}/manifest.json"
    eventually(lambda: exists(pair.backup, last_truth, pair.settings.raw_bucket), "raw day not on the backup")

    pair.stop("minio")
    daily = dags_test("lakehouse_daily", during + timedelta(days=1), None, **env)
    assert daily.returncode == 0, daily.stdout[-5000:] + daily.stderr[-3000:]
    (outage_run,) = [r for r in ledger(spark, scenario) if r.window_start == during and r.status != "running"]
    assert outage_run.status == "succeeded" and outage_run.object_store_endpoint == pair.backup.s3_endpoint
    # the DAG's report task (it succeeded: the DAG did) read the ledger through `delta_backup`
    report = run(
        [LAKEHOUSE, "last-run", "--date", str(during)], env={**env, "LAKEHOUSE_S3_ENDPOINT": pair.backup.s3_endpoint}
    )
    assert report.returncode == 0 and report.stdout.splitlines()[-1] == outage_run.run_id, report.stdout + report.stderr
    for table in SILVER:
        assert silver_keys(spark, scenario, table) == truth_keys(pair.backup, [before, during], table, dataset), table
    # Trino serves through the backup meanwhile: the catalog `delta_backup`, the same metastore.
    during_outage = served(pair.backup.with_overrides(trino_port=pair_trino.trino_port))
    assert during_outage != before_outage  # the outage day's rows are there too

    pair.start()
    tables = {name: path_of(scenario, name) for name in Definitions.load(scenario).published_tables}
    eventually(
        lambda: delta_log_heads(pair.primary, tables) == delta_log_heads(pair.backup, tables),
        "the backup's commits never reached the primary",
    )
    after_outage = served(pair_trino)  # `delta`, through the primary again
    assert after_outage == during_outage
    for table in SILVER[:2]:  # event tables: the rows served before the outage, unchanged, plus the new day's
        assert set(before_outage[table]) <= set(after_outage[table]), table


def test_with_both_endpoints_down_a_run_fails_with_one_line_naming_both(pair):
    pair.stop("minio")
    pair.stop("minio-backup")
    with pytest.raises(EndpointUnreachable) as raised:
        choose_object_store(pair.settings, pair.buckets, a_table(pair))
    message = str(raised.value)
    assert pair.primary.s3_endpoint in message and pair.backup.s3_endpoint in message and "\n" not in message

    result = run(
        [LAKEHOUSE, "run", "--date", "2026-11-20"],
        env={"LAKEHOUSE_ENV_FILE": str(pair.state / "lakehouse.env")},
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no object store endpoint answers"), result.stderr
    assert pair.primary.s3_endpoint in lines[0] and pair.backup.s3_endpoint in lines[0]
