"""The scale-out rehearsal (make cluster-up): the daily job, unchanged, on a Spark
standalone cluster (a master, two 1-core workers, executors in JVMs of their own), published
to a Trino coordinator and worker that read the lake through a Hive Metastore on
PostgreSQL. Only settings differ from local mode (scripts/cluster.sh writes them)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import trino
from jobs.definitions import Definitions
from jobs.settings import read_env_file
from jobs.spark import TASK_JVM_OPTIONS
from jobs.trino_catalog import query
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import DAY1, checksums, env_for, lake

pytestmark = pytest.mark.integration
CLUSTER = ROOT / ".local" / "cluster"
LAKEHOUSE = str(ROOT / ".venv/bin/lakehouse")


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, str]]:
    """The cluster's processes, up for this module; what a job needs to use them."""
    started = run(["bash", "scripts/cluster.sh", "up"], timeout=900)
    assert started.returncode == 0, started.stderr[-3000:]
    yield read_env_file(CLUSTER / "cluster.env")
    stopped = run(["bash", "scripts/cluster.sh", "down"], timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-3000:]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def coordinator(env: dict[str, str]) -> trino.dbapi.Connection:
    return trino.dbapi.connect(
        host="127.0.0.1", port=int(env["LAKEHOUSE_TRINO_PORT"]), user="rehearsal", catalog="delta"
    )


def forget_published(conn: trino.dbapi.Connection, schemas: list[str]) -> None:
    """Unregister what an earlier rehearsal published (the metastore outlives a run): the
    metadata goes, the lake's files stay."""
    present = {row[0] for row in query(conn, "SHOW SCHEMAS")}
    for schema in [s for s in schemas if s in present]:
        for name, kind in query(
            conn, "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?", [schema]
        ):
            if kind == "VIEW":
                query(conn, f"DROP VIEW {schema}.{name}")
            else:
                query(conn, f"CALL system.unregister_table('{schema}', '{name}')")
        query(conn, f"DROP SCHEMA {schema}")


def tasks_per_executor(work_dir: Path, app_id: str) -> dict[str, int]:
    """Finished tasks in each executor's log (a worker keeps them under its work dir)."""
    return {
        stderr.parent.name: len(re.findall(r"Finished task", stderr.read_text(errors="replace")))
        for stderr in sorted((work_dir / app_id).glob("*/stderr"))
    }


def executor_commands(work_dir: Path, app_id: str) -> dict[str, str]:
    """The command line each executor was started with (the first line of its log)."""
    return {
        stderr.parent.name: stderr.read_text(errors="replace").split("\n", 1)[0]
        for stderr in sorted((work_dir / app_id).glob("*/stderr"))
    }


def test_a_day_on_the_cluster_equals_the_day_in_local_mode_and_trino_reads_it_through_the_metastore(
    spark, settings, clean_day1, cluster
):
    local, _ = clean_day1  # DAY1, curated in local mode
    on_cluster = lake(settings, local.raw_uri, "cluster").with_overrides(trino_register=True)
    conn = coordinator(cluster)
    definitions = Definitions.load(settings)
    schemas = sorted({table.split(".")[0] for table in definitions.published_tables} | {"serving"})
    forget_published(conn, schemas)
    master_ui = f"http://127.0.0.1:{cluster['SPARK_MASTER_UI_PORT']}"
    apps_before = {app["id"] for app in get_json(f"{master_ui}/json/")["completedapps"]}

    result = run([LAKEHOUSE, "run", "--date", str(DAY1)], env={**env_for(on_cluster), **cluster})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # Spark: the run was an application of the standalone master, its tasks ran in
    # executors on both workers (each worker keeps its executors' logs).
    (app,) = [a for a in get_json(f"{master_ui}/json/")["completedapps"] if a["id"] not in apps_before]
    workers = get_json(f"{master_ui}/json/")["workers"]
    assert len(workers) == 2
    for worker in workers:  # each worker ran executors of the run
        finished = get_json(f"{worker['webuiaddress']}/json/")["finishedexecutors"]
        assert [e for e in finished if e["appid"] == app["id"]], f"no executor of {app['id']} on {worker['id']}"
    tasks = tasks_per_executor(CLUSTER / "spark-work", app["id"])
    assert len(tasks) >= 2 and all(count > 0 for count in tasks.values()), tasks
    # Its executors' JVMs start as the local driver's does: the same collector and JIT flags.
    commands = executor_commands(CLUSTER / "spark-work", app["id"])
    assert len(commands) >= 2, commands
    for executor, command in commands.items():
        assert command.startswith("Spark Executor Command:"), command[:200]
        missing = [flag for flag in TASK_JVM_OPTIONS if f'"{flag}"' not in command]
        assert not missing, f"executor {executor} started without {missing}"

    # The tables equal the same day run in local mode, row for row.
    curated = [t for t in definitions.table_names if t.split(".")[0] in ("bronze", "quarantine", "silver", "gold")]
    assert checksums(spark, on_cluster, curated) == checksums(spark, local, curated)

    # Trino: two active nodes; a query over the metastore's tables runs its tasks on the
    # worker and returns the rows Spark wrote.
    nodes = query(conn, "SELECT node_id, coordinator FROM system.runtime.nodes WHERE state = 'active'")
    assert sorted(nodes) == [["coordinator", True], ["worker", False]]
    for table in ("silver.taxi_trips", "silver.token_transfers", "silver.tokens"):
        cursor = conn.cursor()
        cursor.execute(f"SELECT count(*) FROM {table}")
        (served,) = cursor.fetchone()
        schema, name = table.split(".")
        assert served == spark.read.format("delta").load(on_cluster.table_path(schema, name)).count(), table
        on_worker = query(
            conn,
            "SELECT count(*) FROM system.runtime.tasks WHERE query_id = ? AND node_id = 'worker'",
            [cursor.query_id],
        )
        assert on_worker[0][0] > 0, table
    forget_published(conn, schemas)
