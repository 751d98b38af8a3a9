"""DAG integrity: the DAG files import in Airflow's own environment (airflow/.venv, built by
`make setup`) and carry what production needs — owner, tags, retries, timeouts, the
failure alert. No server: Airflow parses the files the way its DAG processor does."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import ROOT

INSPECT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "owner": dag.owner, "tags": sorted(dag.tags), "max_active_runs": dag.max_active_runs,
        "catchup": dag.catchup, "timetable": type(dag.timetable).__name__,
        "schedule": getattr(dag.timetable, "summary", None), "params": sorted(dag.params.keys()),
        "tasks": {t.task_id: {
            "type": type(t).__name__, "retries": t.retries, "owner": t.owner,
            "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "alert": bool(t.on_failure_callback), "backoff": bool(t.retry_exponential_backoff),
            "mode": getattr(t, "mode", None), "pool": t.pool,
            "env": getattr(t, "env_vars", None) or getattr(t, "env", None) or {},
            "xcom": getattr(t, "do_xcom_push", None), "command": getattr(t, "bash_command", None) or "",
            "upstream": sorted(t.upstream_task_ids)} for t in dag.tasks},
    }
print(json.dumps({"errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()}, "dags": dags}))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    dags = ROOT / "dags"
    result = subprocess.run(
        [str(ROOT / "airflow/.venv/bin/python"), "-c", INSPECT, str(dags)],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PYTHONPATH": str(dags),
            "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow")),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # The first file pays for importing Airflow and the providers: with make test's
            # three workers busy that took over the 30 s default (an import "error").
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag["errors"] == {}
    assert {"lakehouse_daily", "lakehouse_backfill"} <= set(dagbag["dags"])


def test_every_task_has_an_owner_retries_a_timeout_and_the_failure_alert(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        assert dag["owner"] and dag["owner"] != "airflow", dag_id
        assert "lakehouse" in dag["tags"], dag_id
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["timeout"] and task["timeout"] > 0, where
            assert task["alert"], where
            if task["mode"] is None:  # operators retry with back-off; a sensor's timeout is final
                assert task["retries"] >= 1 and task["backoff"], where


def test_the_daily_dag_runs_once_a_day_one_run_at_a_time_and_waits_for_input_without_a_slot(dagbag):
    daily = dagbag["dags"]["lakehouse_daily"]
    assert daily["timetable"] == "CronDataIntervalTimetable" and daily["schedule"] == "0 0 * * *"  # @daily, UTC
    assert daily["max_active_runs"] == 1
    tasks = daily["tasks"]
    assert tasks["wait_for_input"]["mode"] == "reschedule"
    assert tasks["wait_for_input"]["upstream"] == ["check_endpoints"]
    assert tasks["curate"]["type"] == "SparkSubmitOperator" and tasks["curate"]["upstream"] == ["wait_for_input"]
    assert tasks["publish"]["upstream"] == ["curate"] and tasks["report"]["upstream"] == ["publish"]


def test_the_backfill_dag_takes_a_range_and_shares_the_tables_pool_with_the_daily_dag(dagbag):
    backfill, daily = dagbag["dags"]["lakehouse_backfill"], dagbag["dags"]["lakehouse_daily"]
    assert backfill["params"] == ["days_per_run", "end", "start"] and backfill["max_active_runs"] == 1
    assert backfill["tasks"]["backfill"]["type"] == "SparkSubmitOperator"
    assert backfill["tasks"]["backfill"]["pool"] == daily["tasks"]["curate"]["pool"] == "lakehouse_tables"


def test_the_kubernetes_dag_runs_the_same_steps_with_the_curation_as_a_spark_application(dagbag):
    k8s, daily = dagbag["dags"]["lakehouse_daily_k8s"], dagbag["dags"]["lakehouse_daily"]
    assert {task: t["upstream"] for task, t in k8s["tasks"].items()} == {
        task: t["upstream"] for task, t in daily["tasks"].items()
    }
    assert k8s["tasks"]["curate"]["type"] == "SparkKubernetesOperator"
    assert k8s["tasks"]["curate"]["pool"] == daily["tasks"]["curate"]["pool"]
    assert {t["type"] for name, t in k8s["tasks"].items() if name != "curate"} == {"KubernetesPodOperator"}


def test_the_maintenance_dag_runs_weekly_in_the_tables_pool(dagbag):
    maintain, daily = dagbag["dags"]["lakehouse_maintain"], dagbag["dags"]["lakehouse_daily"]
    assert maintain["timetable"] == "CronDataIntervalTimetable" and maintain["schedule"] == "0 3 * * 0"
    assert not maintain["catchup"] and maintain["max_active_runs"] == 1
    task = maintain["tasks"]["maintain"]
    assert task["type"] == "SparkSubmitOperator" and task["upstream"] == ["check_endpoints"]
    assert task["pool"] == daily["tasks"]["curate"]["pool"]


def test_the_endpoint_watch_s_choice_reaches_every_task_that_touches_the_object_store(dagbag):
    # `lakehouse check` prints the chosen endpoint last (its XCom); the run writes through it
    # alone, and reads (the input sensor, Trino's catalog for publish and report) through it too
    chosen = "{{ ti.xcom_pull(task_ids='check_endpoints') }}"
    # (the Kubernetes DAG's pods read one endpoint from their ConfigMap: docs/failover.md)
    for dag_id in ("lakehouse_daily", "lakehouse_backfill", "lakehouse_maintain"):
        dag = dagbag["dags"][dag_id]
        assert dag["tasks"]["check_endpoints"]["xcom"] is True
        for task_id, task in dag["tasks"].items():
            if task_id != "check_endpoints":
                in_env = task["env"].get("LAKEHOUSE_S3_ENDPOINT") == chosen
                on_command_line = task["command"].startswith(f"LAKEHOUSE_S3_ENDPOINT={chosen} ")
                assert in_env or on_command_line, (dag_id, task_id)
