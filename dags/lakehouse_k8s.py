"""The Kubernetes variant's SparkApplication: one copy per run of k8s/base/spark/curate.yaml,
the object `kubectl apply -k` deploys, with the run's window. Plain Python (no Airflow
import), so the manifest tests check what the DAG submits against the Spark Operator's
CRD (tests/unit/test_k8s.py).

The DAG reads the file where the Airflow image has it (k8s/images/airflow/Dockerfile
copies it beside the DAGs, as in the repository).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

CURATE_APPLICATION = Path(__file__).resolve().parent.parent / "k8s" / "base" / "spark" / "curate.yaml"


def curate_application(start: str, end: str, image: str | None = None, template: Path = CURATE_APPLICATION) -> dict:
    """The SparkApplication that curates [start, end): the deployed object's spec with
    the run's window; publishing to Trino is a task of its own, as in lakehouse_daily."""
    application = copy.deepcopy(yaml.safe_load(template.read_text()))
    spec = application["spec"]
    spec["arguments"] = ["run", "--start", start, "--end", end]
    if image:
        spec["image"] = image
    driver_env = spec["driver"].setdefault("env", [])
    driver_env.append({"name": "LAKEHOUSE_TRINO_REGISTER", "value": "false"})
    return application


def jobs_image(template: Path = CURATE_APPLICATION) -> str:
    """The jobs image the deployed SparkApplication names (one place for the tag)."""
    return yaml.safe_load(template.read_text())["spec"]["image"]
