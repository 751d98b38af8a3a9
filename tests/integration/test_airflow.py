"""Airflow runs the jobs: the DAGs on the real stack (PostgreSQL metadata, LocalExecutor,
spark-submit of the jobs), against the default warehouse and raw bucket as in production.

Each test session takes days of its own in 2024 (Airflow runs no logical date in the
future), generated into the raw bucket as the upstream loader would, marker last.
`airflow dags test` runs a DAG in this process's environment; `make airflow-run` goes
through the running scheduler (REST API)."""

from __future__ import annotations

import itertools
import json
import random
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from pyspark.sql import functions as F

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.lake import table_versions
from tests.conftest import run
from tests.integration.airflowhelpers import dags_test
from tests.integration.lakehelpers import (
    EVENTS,
    RATES,
    path_of,
    read,
    silver_keys,
    truth_keys,
)

pytestmark = pytest.mark.integration

BASE = date(2024, 1, 1) + timedelta(days=random.randrange(0, 280))
DAILY_DAY, MISSING_DAY = BASE, BASE + timedelta(days=60)
BACKFILL_DAYS = [BASE + timedelta(days=20 + i) for i in range(2)]
EVENT_TABLES = ["silver.taxi_trips", "silver.token_transfers"]  # silver.tokens is an upsert over all days


def generate(settings, day: date) -> None:
    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, "")
    generate_day(GeneratorConfig(day=day, events=EVENTS, seed=day.toordinal(), rates=RATES), sink, workers=2)


def runs_of(spark, settings, days: list[date]) -> list:
    """Finished ledger rows of the windows of `days`, oldest first."""
    return (
        read(spark, settings, "ops.pipeline_runs")
        .where((F.col("kind") == "run") & (F.col("status") != "running") & F.col("window_start").isin(days))
        .orderBy("started_at")
        .collect()
    )


def all_tables(settings) -> dict[str, str]:
    from jobs.definitions import Definitions

    return {t: path_of(settings, t) for t in Definitions.load(settings).table_names}


def test_the_daily_dag_curates_a_day_to_its_truth_and_the_scheduler_rerunning_it_changes_nothing(spark, settings):
    generate(settings, DAILY_DAY)
    # A manual `dags test` run covers the last whole day before the instant it is given.
    first = dags_test("lakehouse_daily", DAILY_DAY + timedelta(days=1))
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    runs = runs_of(spark, settings, [DAILY_DAY])
    assert [r.status for r in runs] == ["succeeded"] and runs[0].window_end == DAILY_DAY + timedelta(days=1)
    run_id = runs[0].run_id
    assert f"run {run_id}" in first.stdout + first.stderr  # the curate task's log names the ledger row
    for table in EVENT_TABLES:
        assert silver_keys(spark, settings, table, [run_id]) == truth_keys(settings, [DAILY_DAY], table, ""), table

    # The same day again, this time through the running scheduler: triggered over the
    # REST API (make airflow-run), it succeeds and changes no table.
    versions = table_versions(spark, all_tables(settings))
    again = run(["make", "airflow-run", f"DATE={DAILY_DAY}"], timeout=1500)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "success: check_endpoints=success, wait_for_input=success, curate=success" in again.stdout
    assert table_versions(spark, all_tables(settings)) == versions
    rerun = runs_of(spark, settings, [DAILY_DAY])[-1]
    assert rerun.status == "succeeded" and rerun.unchanged_since == run_id
    assert f"ledger run id: {rerun.run_id}" in again.stdout  # the report task's XCom


class WebhookReceiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []  # what the handler instances (one per request) saw

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        WebhookReceiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_missing_input_times_out_the_sensor_fails_the_run_and_alerts_the_webhook(spark, settings):
    server = HTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/services/lakehouse"
    try:
        result = dags_test(
            "lakehouse_daily",
            MISSING_DAY + timedelta(days=1),
            LAKEHOUSE_INPUT_TIMEOUT_SECONDS="12",
            AIRFLOW_CONN_LAKEHOUSE_ALERTS=json.dumps({"conn_type": "slackwebhook", "password": hook}),
        )
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "no _SUCCESS yet for " + str(MISSING_DAY) in result.stdout + result.stderr
    assert len(WebhookReceiver.received) == 1, WebhookReceiver.received
    text = WebhookReceiver.received[0]["text"]
    for part in ("lakehouse_daily", "wait_for_input", str(MISSING_DAY), "http://127.0.0.1:", "/tasks/wait_for_input"):
        assert part in text, (part, text)
    assert runs_of(spark, settings, [MISSING_DAY]) == []  # nothing was curated


def test_a_backfill_runs_its_days_in_order_never_overlapping_each_to_its_truth(spark, settings):
    # That a backfill leaves the same tables as single-day runs is test_curation's; here:
    # the DAG runs its days one after the other, and each day lands as the generator meant.
    for day in BACKFILL_DAYS:
        generate(settings, day)
    start, end = BACKFILL_DAYS[0], BACKFILL_DAYS[-1] + timedelta(days=1)
    result = dags_test("lakehouse_backfill", conf={"start": str(start), "end": str(end)})
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    runs = runs_of(spark, settings, BACKFILL_DAYS)
    assert [r.window_start for r in runs] == BACKFILL_DAYS and {r.status for r in runs} == {"succeeded"}
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at <= later.started_at, (earlier.run_id, later.run_id)
    for table in EVENT_TABLES:
        for day_run, day in zip(runs, BACKFILL_DAYS, strict=True):
            expected = truth_keys(settings, [day], table, "")
            assert silver_keys(spark, settings, table, [day_run.run_id]) == expected, (table, day)
