"""lakehouse_daily_k8s: lakehouse_daily on Kubernetes — the same steps, each in a pod.

    check_endpoints >> wait_for_input >> curate >> publish >> report

- curate submits a SparkApplication (Spark Operator, sparkoperator.k8s.io/v1beta2) built
  from k8s/base/spark/curate.yaml with the day's window (dags/lakehouse_k8s.py) and
  follows the driver's log until it ends.
- The other tasks run the `lakehouse` command in the jobs image, with the jobs' settings
  and credentials from the ConfigMap lakehouse-jobs and the Secrets lakehouse-jobs-s3 and
  lakehouse-jobs-trino, and Trino's certificate from the ConfigMap trino-ca.
- wait_for_input polls in its pod (`lakehouse input-ready` every LAKEHOUSE_INPUT_POKE_SECONDS)
  until LAKEHOUSE_INPUT_TIMEOUT_SECONDS: one small pod and one task slot while it waits
  (unlike the local sensor in reschedule mode).

Deployed by k8s/ (the Airflow image has the DAGs and the SparkApplication file); the
namespace is the Airflow variable `lakehouse_namespace` and the image
`lakehouse_jobs_image` (default: the one k8s/base/spark/curate.yaml names). Locally this
DAG is parsed and tested but never scheduled (the local scheduler starts no runs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable
from kubernetes.client import models as k8s
from lakehouse_k8s import curate_application, jobs_image
from lakehouse_tasks import CATCHUP, DEFAULT_ARGS, INPUT_POKE, INPUT_TIMEOUT, TABLES_POOL, WINDOW

NAMESPACE = "{{ var.value.get('lakehouse_namespace', 'lakehouse') }}"
IMAGE = "{{ var.value.get('lakehouse_jobs_image', '" + jobs_image() + "') }}"
JOBS_ENV = [
    k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="lakehouse-jobs")),
    k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="lakehouse-jobs-s3")),
    k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="lakehouse-jobs-trino")),
]
# check, publish and last-run log in to Trino over HTTPS: its certificate, where
# LAKEHOUSE_TRINO_CA_FILE (k8s/base/jobs.env) names it.
TRINO_CA = k8s.V1Volume(name="trino-ca", config_map=k8s.V1ConfigMapVolumeSource(name="trino-ca"))
TRINO_CA_MOUNT = k8s.V1VolumeMount(name="trino-ca", mount_path="/etc/trino-ca", read_only=True)


def lakehouse_pod(task_id: str, script: str, **kwargs) -> KubernetesPodOperator:
    """A pod of the jobs image running a `lakehouse` command line."""
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"lakehouse-{task_id.replace('_', '-')}",
        namespace=NAMESPACE,
        image=IMAGE,
        cmds=["/bin/bash", "-ec"],
        arguments=[script],
        env_from=JOBS_ENV,
        volumes=[TRINO_CA],
        volume_mounts=[TRINO_CA_MOUNT],
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "100m", "memory": "512Mi"}, limits={"memory": "1Gi"}
        ),
        on_finish_action="delete_succeeded_pod",
        get_logs=True,
        **kwargs,
    )


with DAG(
    dag_id="lakehouse_daily_k8s",
    description="lakehouse_daily on Kubernetes: the curation as a SparkApplication, the other steps as pods",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2020, 1, 1),
    catchup=CATCHUP,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=12),
    default_args=DEFAULT_ARGS,
    tags=["lakehouse", "daily", "kubernetes"],
    doc_md=__doc__,
):
    window = " ".join(WINDOW)
    check_endpoints = lakehouse_pod(
        "check_endpoints", "lakehouse check", retries=3, execution_timeout=timedelta(minutes=5)
    )
    wait_for_input = lakehouse_pod(
        "wait_for_input",
        f"until lakehouse input-ready {window}; do sleep {int(INPUT_POKE.total_seconds())}; done",
        # Not a sensor (no pod sensor exists): a lost pod (a drained node) is retried once,
        # which after a timeout means one more wait.
        retries=1,
        execution_timeout=INPUT_TIMEOUT,
    )
    curate = SparkKubernetesOperator(
        task_id="curate",
        name="lakehouse-curate",
        namespace=NAMESPACE,
        template_spec=curate_application("{{ data_interval_start | ds }}", "{{ data_interval_end | ds }}", IMAGE),
        pool=TABLES_POOL,
        execution_timeout=timedelta(hours=2),
        retry_delay=timedelta(minutes=2),
    )
    publish = lakehouse_pod("publish", "lakehouse publish", execution_timeout=timedelta(minutes=10))
    report = lakehouse_pod("report", f"lakehouse last-run {window}", execution_timeout=timedelta(minutes=5))
    check_endpoints >> wait_for_input >> curate >> publish >> report
