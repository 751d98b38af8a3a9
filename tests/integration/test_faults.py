"""Faults through the network: a real fault proxy (toxiproxy) between the jobs and MinIO
or Trino. Connection resets in the middle of a write fail the attempt with one clear
line and no partial commit, and the rerun equals one clean run; a run slowed by latency
and a bandwidth cap through an outage of MinIO ends as one clean run (its retries outlast
the outage, or the attempt fails cleanly and the rerun does); Trino down while publishing leaves the tables committed,
the ledger saying so, and `lakehouse publish` repairs the catalog.

Each run is a `lakehouse run` subprocess (its own Spark driver, whose S3 endpoint is
the proxy); the test watches its log and strikes when a stage line appears."""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
import requests
from delta.tables import DeltaTable

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.plan import RunWindow
from jobs.curation.tables import path_of
from jobs.models import load_models
from jobs.trino_catalog import query, trino_connection
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import (
    CURATED,
    DAY1,
    RATES,
    checksums,
    env_for,
    lake,
    ledger,
)
from tests.integration.toxiproxy import Toxiproxy

pytestmark = pytest.mark.integration
WINDOW = RunWindow(DAY1, DAY1 + timedelta(days=1))
TABLES = [*CURATED, "ops.ingested_files", *(model.table for model in load_models())]
LAKEHOUSE = str(ROOT / ".venv/bin/lakehouse")


@pytest.fixture(scope="module")
def toxiproxy(settings, tmp_path_factory):
    proxy = Toxiproxy(tmp_path_factory.mktemp("toxiproxy") / "toxiproxy.log")
    proxy.proxy("minio", int(settings.s3_endpoint.rsplit(":", 1)[1]))
    proxy.proxy("trino", settings.trino_port)
    yield proxy
    proxy.stop()


@pytest.fixture
def proxies(toxiproxy):
    toxiproxy.reset()
    yield toxiproxy
    toxiproxy.reset()


def proxied_port(toxiproxy: Toxiproxy, name: str) -> int:
    listen = requests.get(f"{toxiproxy.api}/proxies/{name}", timeout=5).json()["listen"]
    return int(listen.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def clean(spark, clean_day1):
    """The day curated once with nothing in the way: what every faulted run must end as."""
    return checksums(spark, clean_day1[0], TABLES)


def through_minio_proxy(settings, dataset, toxiproxy, name: str):
    scenario = lake(settings, dataset, name)
    env = {**env_for(scenario), "LAKEHOUSE_S3_ENDPOINT": f"http://127.0.0.1:{proxied_port(toxiproxy, 'minio')}"}
    return scenario, env


def run_day(
    env: dict[str, str],
    day: date = DAY1,
    trigger: str | None = None,
    strike: Callable[[], None] | None = None,
    timeout: float = 1800,
) -> tuple[int, list[str]]:
    """`lakehouse run` of one day; when a log line matches `trigger`, `strike()` is called."""
    process = subprocess.Popen(
        [LAKEHOUSE, "run", "--date", str(day)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None  # stdout=PIPE
    lines, struck, deadline = [], False, time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if trigger and not struck and re.search(trigger, line):
            assert strike is not None, "a trigger needs a strike"
            strike()
            struck = True
        assert time.monotonic() < deadline, "the run took too long:\n" + "\n".join(lines[-40:])
    code = process.wait()
    assert trigger is None or struck, f"no log line matched {trigger!r}:\n" + "\n".join(lines[-40:])
    return code, lines


def one_clear_error_line(lines: list[str]) -> str:
    """The failure in one line at the end, and no Python traceback anywhere."""
    tracebacks = [n for n, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    assert tracebacks == [], "\n".join(lines[tracebacks[0] - 2 : tracebacks[0] + 30] if tracebacks else [])
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], "\n".join(lines[-30:])
    return errors[0]


def test_connection_resets_mid_write_fail_the_attempt_cleanly_and_the_rerun_equals_a_clean_run(
    spark, settings, dataset, proxies, clean
):
    scenario, env = through_minio_proxy(settings, dataset, proxies, "faults-reset")

    def reset_every_connection():
        proxies.add_toxic("minio", "reset_peer", "downstream", timeout=0)
        proxies.add_toxic("minio", "reset_peer", "upstream", timeout=0)

    # Bronze and quarantine are committed; the silver MERGEs are under way.
    code, lines = run_day(env, trigger=r"stage quarantine ", strike=reset_every_connection)
    assert code != 0
    error = one_clear_error_line(lines)
    assert re.search(r"reset|closed|refused|Unable to execute HTTP request|SdkClientException", error, re.I), error
    proxies.reset()

    # No partial commit: every table reads, and each holds a state one clean run passes
    # through (bronze and quarantine complete, silver before or after its MERGE as a whole).
    existing = [t for t in TABLES if DeltaTable.isDeltaTable(spark, path_of(scenario, t))]
    failed = checksums(spark, scenario, existing)
    assert failed["bronze.events"] == clean["bronze.events"]
    for table in [t for t in TABLES if t.startswith("silver.")]:
        assert failed.get(table, []) in ([], clean[table]), table
    # Its ledger says `running` (the failure could not be recorded: the store was
    # resetting every connection) or `failed`, never `succeeded`.
    assert {r.status for r in ledger(spark, scenario)} <= {"running", "failed"}

    code, lines = run_day(env)
    assert code == 0, "\n".join(lines[-40:])
    assert checksums(spark, scenario, TABLES) == clean
    assert [r.status for r in ledger(spark, scenario)][-1] == "succeeded"


def test_a_slow_network_and_minio_unreachable_during_the_transfers_merge_leave_one_clean_run(
    spark, settings, dataset, proxies, clean
):
    """The whole run through 20 ms ± 10 ms of latency each way and a 2 MB/s cap, and an
    outage of 20 s that starts as the transfers' MERGE does. (Disabling the proxy is what
    stopping MinIO looks like from the jobs: refused connections, open ones cut.)"""
    scenario, env = through_minio_proxy(settings, dataset, proxies, "faults-outage")
    proxies.add_toxic("minio", "latency", "downstream", latency=20, jitter=10)
    proxies.add_toxic("minio", "latency", "upstream", latency=20, jitter=10)
    proxies.add_toxic("minio", "bandwidth", "downstream", rate=2048)  # KB/s

    def outage():
        proxies.set_enabled("minio", False)
        threading.Timer(20, proxies.set_enabled, ("minio", True)).start()

    code, lines = run_day(env, trigger=r"stage silver\.tokens ", strike=outage)
    if code != 0:  # the retries did not outlast the outage: a clean failure, then a rerun
        one_clear_error_line(lines)
        time.sleep(20)
        code, lines = run_day(env)
    assert code == 0, "\n".join(lines[-40:])
    assert checksums(spark, scenario, TABLES) == clean
    statuses = [r.status for r in ledger(spark, scenario)]
    assert statuses[-1] == "succeeded" and statuses.count("succeeded") == 1


@pytest.mark.xdist_group("served")  # it publishes to the served warehouse and drops a serving view
def test_trino_down_while_publishing_keeps_the_tables_and_publish_repairs_the_catalog(settings, proxies, tmp_path):
    """On the served warehouse (the one Trino's catalog names), on a day of its own."""
    day = date(2023, 1, 1) + timedelta(days=random.randrange(365))
    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, "")
    generate_day(GeneratorConfig(day=day, events=2_000, seed=day.toordinal(), rates=RATES), sink, workers=2)
    pipeline = trino_connection(settings)
    for view in ("serving.token_transfers_daily", "gold.fct_token_transfers"):  # what the repair must bring back
        query(pipeline, f"DROP VIEW IF EXISTS {view}")

    env = {"LAKEHOUSE_TRINO_PORT": str(proxied_port(proxies, "trino"))}
    code, lines = run_day(
        env, day=day, trigger=r"stage quality_silver ", strike=lambda: proxies.set_enabled("trino", False)
    )
    assert code == 2
    error = one_clear_error_line(lines)
    assert "the tables are committed, but publishing to Trino failed" in error, error

    proxies.reset()
    result = run([LAKEHOUSE, "publish"])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = query(
        pipeline,
        f"SELECT status, error FROM ops.pipeline_runs WHERE window_start = DATE '{day}' AND status <> 'running'",
    )
    assert len(rows) == 1 and rows[0][0] == "succeeded" and "publishing to Trino failed" in rows[0][1]
    silver = query(pipeline, f"SELECT count(*) FROM silver.token_transfers WHERE event_date = DATE '{day}'")[0][0]
    assert silver > 100  # the day's rows, committed while Trino was away, are served
    served = query(
        trino_connection(settings, as_analyst=True),
        f"SELECT count(*) FROM serving.token_transfers_daily WHERE business_date <= DATE '{day}'",
    )
    assert served[0][0] > 0
    # the view model, created again by publish: a row per silver transfer
    facts = "SELECT (SELECT count(*) FROM gold.fct_token_transfers), (SELECT count(*) FROM silver.token_transfers)"
    ((in_view, in_silver),) = query(pipeline, facts)
    assert in_view == in_silver >= silver
