"""The local stack, exercised for real: MinIO, Spark + Delta, Trino."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from botocore.exceptions import ClientError
from trino.auth import BasicAuthentication
from trino.exceptions import HttpError, TrinoUserError

import trino
from jobs.object_store import ObjectsNotDeleted, delete_prefix, s3_client
from jobs.smoke import SMOKE_ROWS, smoke_frame
from jobs.trino_catalog import query, register_table, trino_connection, trusting
from tests.conftest import ROOT, run

pytestmark = pytest.mark.integration


def as_utc(value: datetime | None) -> datetime | None:
    """PySpark returns naive local datetimes; Trino returns aware ones."""
    return None if value is None else value.astimezone(UTC)


def test_trino_returns_exactly_the_rows_spark_wrote(spark, settings, trino_conn):
    table = f"roundtrip_{uuid.uuid4().hex[:8]}"
    smoke_frame(spark).write.format("delta").save(settings.table_path("ops", table))
    assert register_table(trino_conn, settings, "ops", table) is True
    assert register_table(trino_conn, settings, "ops", table) is False  # idempotent

    from_spark = [
        (r.id, r.label, r.amount, as_utc(r.observed_at))
        for r in spark.read.format("delta").load(settings.table_path("ops", table)).orderBy("id").collect()
    ]
    from_trino = [
        tuple(row) for row in query(trino_conn, f"SELECT id, label, amount, observed_at FROM ops.{table} ORDER BY id")
    ]

    assert from_trino == from_spark
    # ... and both equal what was meant to be written, value for value.
    assert from_trino == [tuple(row) for row in SMOKE_ROWS]
    assert from_trino[0][2] == Decimal("12345678901234567890.123456789012345678")
    assert from_trino[2] == (3, None, None, None)
    column_types = dict(
        query(
            trino_conn,
            f"SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = 'ops' AND table_name = '{table}'",
        )
    )
    assert column_types == {
        "id": "integer",
        "label": "varchar",
        "amount": "decimal(38,18)",
        "observed_at": "timestamp(3) with time zone",
    }


def test_trino_sees_a_new_spark_commit_without_any_refresh(spark, settings, trino_conn):
    table = f"commits_{uuid.uuid4().hex[:8]}"
    path = settings.table_path("ops", table)
    spark.range(3).write.format("delta").save(path)
    register_table(trino_conn, settings, "ops", table)
    assert query(trino_conn, f"SELECT count(*) FROM ops.{table}") == [[3]]
    spark.range(10, 14).write.format("delta").mode("append").save(path)
    assert query(trino_conn, f"SELECT count(*), max(id) FROM ops.{table}") == [[7, 13]]


def test_the_smoke_job_runs_through_spark_submit_and_prints_the_trino_result():
    result = run([str(ROOT / ".venv/bin/lakehouse"), "smoke"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "12345678901234567890.123456789012345678" in result.stdout
    assert "-0.000000000000000001" in result.stdout
    assert "2026-01-01 12:00:00.123000+00:00" in result.stdout


def test_the_jobs_user_cannot_write_raw_events_nor_create_buckets(settings):
    s3 = s3_client(settings)
    # The same user can write the lake: the denials below are its policy, not a broken login.
    s3.put_object(Bucket=settings.lake_bucket, Key="tests/allowed.txt", Body=b"ok")
    s3.delete_object(Bucket=settings.lake_bucket, Key="tests/allowed.txt")

    with pytest.raises(ClientError) as put_denied:
        s3.put_object(Bucket=settings.raw_bucket, Key="tests/forbidden.txt", Body=b"no")
    assert put_denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "Access Denied" in put_denied.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as create_denied:
        s3.create_bucket(Bucket=f"not-allowed-{uuid.uuid4().hex[:6]}")
    assert create_denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "Access Denied" in create_denied.value.response["Error"]["Message"]


def test_a_refused_deletion_of_a_prefix_raises_and_counts_nothing_as_deleted(settings, dataset):
    """A batch delete answers 200 and lists the keys it refused: the jobs' user may read the
    raw bucket, not delete from it, so every raw file must still be there after the error."""
    prefix = dataset.removeprefix(f"s3a://{settings.raw_bucket}/") + "/"
    s3 = s3_client(settings)
    before = s3.list_objects_v2(Bucket=settings.raw_bucket, Prefix=prefix)["KeyCount"]
    assert before > 0

    with pytest.raises(ObjectsNotDeleted) as refused:
        delete_prefix(settings, settings.raw_bucket, prefix)
    assert f"did not delete {min(before, 1000)} of {min(before, 1000)} objects" in str(refused.value)
    assert "AccessDenied" in str(refused.value) and "(0 deleted before)" in str(refused.value)
    assert s3.list_objects_v2(Bucket=settings.raw_bucket, Prefix=prefix)["KeyCount"] == before


def test_a_wrong_credential_gives_one_clear_line_not_a_stack_trace():
    result = run(
        [str(ROOT / ".venv/bin/lakehouse"), "smoke"],
        env={"LAKEHOUSE_S3_SECRET_KEY": "not-the-secret"},  # pragma: allowlist secret
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "rejected the credentials" in errors[0] and "SignatureDoesNotMatch" in errors[0]
    assert len(result.stderr.splitlines()) <= 2, result.stderr


SERVERS = (
    "minio",
    "trino",
    "postgres",
    "airflow-api",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "superset",
)


def test_make_up_twice_does_no_harm():
    before = {name: (ROOT / f".local/run/{name}.pid").read_text() for name in SERVERS}
    first, second = run(["make", "up"]), run(["make", "up"])
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    after = {name: (ROOT / f".local/run/{name}.pid").read_text() for name in SERVERS}
    assert after == before  # nothing restarted
    status = run(["make", "status"])
    assert status.returncode == 0 and status.stdout.count(" running ") == len(SERVERS), status.stdout


def test_make_sql_runs_as_the_chosen_identity_and_fails_loudly():
    ok = run(["make", "sql", "Q=SELECT current_user", "TRINO_USER=analyst"])
    assert ok.returncode == 0, ok.stderr
    assert "analyst" in ok.stdout

    failed = run(["make", "sql", "Q=SELECT * FROM delta.ops.no_such_table"])
    assert failed.returncode != 0
    assert "does not exist" in failed.stderr


# -- who is asking Trino -------------------------------------------------------------------


def login(settings, user: str, password: str | None = None):
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=user,
        catalog="delta",
        http_scheme="https",
        auth=BasicAuthentication(user, password) if password is not None else None,
        http_session=trusting(settings.trino_ca_file),
    )


def test_trino_refuses_a_user_name_without_its_password(settings):
    assert settings.trino_scheme == "https" and settings.trino_password and settings.trino_analyst_password
    for attempt in (
        login(settings, "pipeline"),
        login(settings, "pipeline", settings.trino_analyst_password),
        login(settings, "analyst", "not-the-password"),  # pragma: allowlist secret
    ):
        with pytest.raises(HttpError, match="401"):
            query(attempt, "SELECT 1")
    # plain HTTP, as any process on the machine could send it: the header names pipeline
    for port in (settings.trino_port, int(os.environ.get("TRINO_INTERNAL_PORT", "8091"))):
        for scheme in ("http", "https"):
            try:
                response = requests.post(
                    f"{scheme}://127.0.0.1:{port}/v1/statement",
                    data="SELECT 1",
                    headers={"X-Trino-User": "pipeline"},
                    verify=settings.trino_ca_file,
                    timeout=10,
                )
            except requests.ConnectionError:
                continue  # the port does not speak this scheme at all
            assert response.status_code in (401, 403), (scheme, port, response.status_code, response.text[:200])


def test_the_analyst_reads_the_serving_layer_and_cannot_write_nor_read_the_raw_layers(settings, served_days):
    # served_days: every layer exists and is published, so a denial is a denial, not a missing table
    analyst = trino_connection(settings, as_analyst=True)
    assert query(analyst, "SELECT current_user") == [["analyst"]]
    assert query(analyst, "SELECT count(*) >= 0 FROM delta.serving.pipeline_runs") == [[True]]
    table = f"analyst_{uuid.uuid4().hex[:6]}"
    for statement in (
        f"CREATE TABLE delta.gold.{table} (id integer)",
        f"CREATE TABLE delta.ops.{table} AS SELECT 1 AS id",
        "INSERT INTO delta.gold.dim_date SELECT * FROM delta.gold.dim_date LIMIT 1",
        "DELETE FROM delta.gold.dim_date",
        "CREATE SCHEMA delta.analyst_sandbox",
        "SELECT count(*) FROM delta.bronze.events",
        "SELECT count(*) FROM delta.quarantine.events",
        "SELECT count(*) FROM delta.silver.token_transfers",
        "SELECT count(*) FROM delta.ops.pipeline_runs",
    ):
        with pytest.raises(TrinoUserError, match="Access Denied"):
            query(analyst, statement)
    # the pipeline, logged in with its own password, may do what the analyst may not
    pipeline = trino_connection(settings)
    assert query(pipeline, "SELECT current_user") == [["pipeline"]]
    assert query(pipeline, "SELECT count(*) >= 0 FROM delta.ops.pipeline_runs") == [[True]]


def test_a_wrong_trino_password_gives_one_clear_line():
    wrong = {"LAKEHOUSE_TRINO_PASSWORD": "not-the-password"}  # pragma: allowlist secret
    result = run([str(ROOT / ".venv/bin/lakehouse"), "check"], env=wrong)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused the login of 'pipeline'" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
