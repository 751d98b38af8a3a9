"""What the lakehouse DAGs share: default arguments, the failure alert, and the tasks
that call the jobs.

Every task runs the jobs' own code from the jobs' virtual environment: `spark-submit`
of jobs/curation/job.py (SparkSubmitOperator), or the `lakehouse` command line — the
same entry points a person uses. Paths come from the Airflow variable
`lakehouse_home`, the Spark master from the connection `spark_lakehouse`, the alert
webhook from the connection `lakehouse_alerts`; the local stack sets all three in the
environment (scripts/common.sh), Kubernetes from Secrets. No endpoint or credential is
written here.

Parse-time knobs (environment of the DAG processor, with defaults for production):
LAKEHOUSE_INPUT_TIMEOUT_SECONDS, LAKEHOUSE_INPUT_POKE_SECONDS, LAKEHOUSE_DAG_CATCHUP.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.bash import BashSensor

log = logging.getLogger("lakehouse.alerts")

HOME = "{{ var.value.lakehouse_home }}"
LAKEHOUSE = f"{HOME}/.venv/bin/lakehouse"
# The daily DAG's window is Airflow's data interval: [start, end) of whole days.
WINDOW = ["--start", "{{ data_interval_start | ds }}", "--end", "{{ data_interval_end | ds }}"]
ALERT_CONNECTION = "lakehouse_alerts"
TABLES_POOL = "lakehouse_tables"  # one slot: never two curation runs on the same tables

INPUT_TIMEOUT = timedelta(seconds=int(os.environ.get("LAKEHOUSE_INPUT_TIMEOUT_SECONDS", str(6 * 3600))))
INPUT_POKE = timedelta(seconds=int(os.environ.get("LAKEHOUSE_INPUT_POKE_SECONDS", "300")))
CATCHUP = os.environ.get("LAKEHOUSE_DAG_CATCHUP", "false").lower() in ("1", "true", "yes")


def alert_text(context) -> str:
    ti = context["ti"]
    interval = (
        f"[{context['data_interval_start']:%Y-%m-%d}, {context['data_interval_end']:%Y-%m-%d})"
        if context.get("data_interval_start")
        else "(no data interval)"
    )
    error = context.get("exception")
    return (
        f":red_circle: lakehouse: task {ti.task_id} of DAG {ti.dag_id} failed for {interval} "
        f"(try {ti.try_number}): {error!s:.300}\nlog: {ti.log_url}"
    )


def alert_on_failure(context) -> None:
    """One log line, and a Slack-compatible JSON message to the `lakehouse_alerts` webhook."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    text = alert_text(context)
    log.error("ALERT %s", text.replace("\n", " "))
    try:
        SlackWebhookHook(slack_webhook_conn_id=ALERT_CONNECTION, timeout=10).send(text=text)
    except AirflowNotFoundException:
        log.warning("no alert webhook configured (connection %s); the alert is the line above", ALERT_CONNECTION)


DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(minutes=10),
    "on_failure_callback": alert_on_failure,
}


# The endpoint watch's choice (the last line `lakehouse check` prints, its XCom): the object
# store endpoint every later task of the run uses, so that a run writes through one alone;
# the tasks that ask Trino use the catalog that reads it (Settings.serving_catalog).
CHOSEN_ENDPOINT = {"LAKEHOUSE_S3_ENDPOINT": "{{ ti.xcom_pull(task_ids='check_endpoints') }}"}


def check_endpoints() -> BashOperator:
    """The endpoint watch (jobs/endpoint_watch.py): the first object store endpoint that
    answers and has caught up with the others, primary first; and Trino."""
    return BashOperator(
        task_id="check_endpoints",
        bash_command=f"{LAKEHOUSE} check",
        do_xcom_push=True,
        retries=3,
        execution_timeout=timedelta(minutes=2),
    )


def wait_for_input() -> BashSensor:
    """Waits, without holding a worker slot, until each day of the window has its
    completion marker (jobs/landing.py); fails after INPUT_TIMEOUT."""
    return BashSensor(
        task_id="wait_for_input",
        # A sensor's env replaces the environment: the chosen endpoint goes on the command line.
        bash_command=" ".join(
            [*(f"{name}={value}" for name, value in CHOSEN_ENDPOINT.items()), LAKEHOUSE, "input-ready", *WINDOW]
        ),
        retry_exit_code=1,  # 1: not yet; any other failure is an error
        mode="reschedule",
        poke_interval=INPUT_POKE,
        timeout=INPUT_TIMEOUT,
        retries=0,  # a timeout is final: nothing arrived in time
        execution_timeout=timedelta(minutes=2),  # one poke
    )


def curate(task_id: str, job_args: list[str], timeout: timedelta) -> SparkSubmitOperator:
    """spark-submit of the curation job: validate, bronze, quarantine, silver, the quality
    gates and the gold models, one atomic run per day with its ledger row."""
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id="spark_lakehouse",
        application=f"{HOME}/jobs/curation/job.py",
        application_args=job_args,
        properties_file="{{ var.value.lakehouse_spark_properties }}",
        name=f"lakehouse-{task_id}",
        # Publishing to Trino is a task of its own (retried on its own if Trino is away).
        # Two malloc arenas keep the driver's resident memory down (jobs/spark.py: MALLOC_ARENAS).
        env_vars={"LAKEHOUSE_TRINO_REGISTER": "false", "MALLOC_ARENA_MAX": "2", **CHOSEN_ENDPOINT},
        pool=TABLES_POOL,
        execution_timeout=timeout,
        retry_delay=timedelta(minutes=2),
    )


def publish() -> BashOperator:
    return BashOperator(
        task_id="publish",
        bash_command=f"{LAKEHOUSE} publish",
        env=CHOSEN_ENDPOINT,
        append_env=True,
        execution_timeout=timedelta(minutes=10),
    )


def report_runs(window: list[str] = WINDOW) -> BashOperator:
    """The window's ledger rows in the log; the newest run id in XCom (the last line)."""
    return BashOperator(
        task_id="report",
        bash_command=" ".join([LAKEHOUSE, "last-run", *window]),
        env=CHOSEN_ENDPOINT,  # through the Trino catalog that reads that endpoint
        append_env=True,
        do_xcom_push=True,
        execution_timeout=timedelta(minutes=5),
    )
