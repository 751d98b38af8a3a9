"""Running the lakehouse DAGs from a test: `airflow dags test` in the local stack's Airflow."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date

from jobs.settings import read_env_file
from tests.conftest import ROOT


def airflow_env(**extra: str) -> dict[str, str]:
    """The local stack's Airflow configuration (scripts/common.sh), for `airflow dags test`."""
    env = {**os.environ, **read_env_file(ROOT / ".local/airflow/airflow.env")}
    env["PATH"] = f"{env['SPARK_HOME']}/bin:{env['PATH']}"
    env["LAKEHOUSE_INPUT_POKE_SECONDS"] = "5"
    return {**env, **extra}


def dags_test(dag_id: str, run_after: date | None = None, conf: dict | None = None, **env: str):
    """`airflow dags test` of a paused DAG: the running scheduler leaves its runs alone."""
    airflow = str(ROOT / "airflow/.venv/bin/airflow")
    paused = subprocess.run([airflow, "dags", "pause", dag_id], env=airflow_env(), capture_output=True, text=True)
    assert paused.returncode == 0, paused.stderr[-2000:]
    command = [airflow, "dags", "test", dag_id]
    command += [str(run_after)] if run_after else []
    command += ["--conf", json.dumps(conf)] if conf else []
    return subprocess.run(command, cwd=ROOT, env=airflow_env(**env), capture_output=True, text=True, timeout=1500)
