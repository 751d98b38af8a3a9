"""The jobs image, built for real without a Docker engine and run against the local stack.

`make image` (scripts/image.sh) builds it with buildah on a Debian base made here with
debootstrap; `scripts/image.sh smoke` runs `lakehouse smoke` (spark-submit of the smoke
job) in a container of it (`buildah run`, chroot isolation) against MinIO and Trino on
127.0.0.1, with the job credentials passed as environment variables. On a warm machine
the module takes 75-95 s: the build is all cached layers, the smoke job one
Spark start. The first build on a machine takes several minutes (docs/kubernetes.md).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from jobs.object_store import s3_client
from jobs.smoke import SCHEMA, SMOKE_ROWS, TABLE
from jobs.trino_catalog import query
from tests.conftest import ROOT, run

pytestmark = pytest.mark.integration

# What spark-submit prints when it resolves --packages / spark.jars.packages with Ivy.
IVY_RESOLUTION_MARKERS = (":: resolving dependencies ::", "Ivy Default Cache set to", ":: loading settings ::")


@pytest.fixture(scope="module")
def image() -> str:
    built = run(["bash", "scripts/image.sh", "build"], timeout=1800)
    log = ROOT / ".local/logs/image-build.log"
    assert built.returncode == 0, built.stderr + (log.read_text()[-3000:] if log.is_file() else "")
    return run(["bash", "scripts/image.sh", "name"]).stdout.strip()


def in_image(
    image: str, script: str, env: dict[str, str] | None = None, user: str | None = None
) -> subprocess.CompletedProcess:
    """A bash script in a fresh container of the image, as the image's own user unless told."""
    container = subprocess.run(
        ["buildah", "from", "--pull=never", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        args = [arg for key, value in (env or {}).items() for arg in ("--env", f"{key}={value}")]
        args += ["--user", user] if user else []
        return run(["bash", "scripts/image.sh", "run", *args, container, "--", "bash", "-c", script], timeout=300)
    finally:
        subprocess.run(["buildah", "rm", container], check=True, capture_output=True)


def image_config(image: str) -> dict:
    inspected = subprocess.run(
        ["buildah", "inspect", "--type", "image", image], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(inspected)["Docker"]["config"]


def test_the_image_runs_as_user_185_not_root(image):
    assert image_config(image)["User"] == "185"
    ids = in_image(image, "id -u; id -g")
    assert ids.returncode == 0, ids.stderr
    assert ids.stdout.split() == ["185", "0"]  # Spark's uid, group root (OpenShift's convention)


def test_the_image_holds_no_credentials(image, settings):
    env_names = {entry.partition("=")[0] for entry in image_config(image)["Env"]}
    assert not [name for name in env_names if any(word in name for word in ("KEY", "SECRET", "PASSWORD"))]
    # The job's secret key is nowhere in the project's files nor /etc (the venv is third-party code).
    searched = in_image(
        image, f"grep -rlF -e '{settings.s3_secret_key}' /opt/lakehouse /etc --exclude-dir=.venv", user="0:0"
    )
    assert searched.returncode == 1 and not searched.stdout, searched.stdout + searched.stderr  # 1: no match


def test_spark_jars_hold_the_jvm_packages_so_nothing_is_resolved_at_start(image, settings):
    listing = in_image(
        image,
        'ls "$SPARK_HOME/jars"; echo ---; cat /opt/lakehouse/ivy/classpath-*.txt | tr : "\\n" '
        '| while read -r jar; do [ -f "$jar" ] && echo "present $jar"; done',
    )
    assert listing.returncode == 0, listing.stderr
    jars, _, classpath = listing.stdout.partition("---")
    for coordinate in settings.versions.spark_packages:  # group:artifact:version, as Ivy names the file
        group, artifact, version = coordinate.split(":")
        assert f"{group}_{artifact}-{version}.jar" in jars.split(), coordinate
    # The recorded classpath (what tells jobs/spark.py "resolved already") names jars that exist.
    assert classpath.count("present ") >= len(settings.versions.spark_packages)


def test_the_smoke_job_runs_in_the_image_against_minio_and_trino(image, settings, trino_conn):
    log_prefix = f"{SCHEMA}/{TABLE}/_delta_log/"
    s3 = s3_client(settings)

    def commits() -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.lake_bucket, Prefix=log_prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".json")}

    before, started = commits(), time.time()
    smoke = run(["bash", "scripts/image.sh", "smoke"], timeout=600)
    output = smoke.stdout + smoke.stderr
    assert smoke.returncode == 0, output[-3000:]
    assert not [marker for marker in IVY_RESOLUTION_MARKERS if marker in output], output[:3000]

    # Read back from the host: the run committed a new version of the table to MinIO ...
    new = sorted(commits() - before)
    assert new, "the smoke job in the image committed nothing to the lake"
    lines = s3.get_object(Bucket=settings.lake_bucket, Key=new[-1])["Body"].read().decode().splitlines()
    commit_info = next(json.loads(line)["commitInfo"] for line in lines if '"commitInfo"' in line)
    assert commit_info["timestamp"] / 1000 >= started - 5
    # ... and Trino serves exactly the rows the job wrote.
    served = query(trino_conn, f"SELECT id, label, amount, observed_at FROM {SCHEMA}.{TABLE} ORDER BY id")
    assert [tuple(row) for row in served] == [tuple(row) for row in SMOKE_ROWS]


def test_the_smoke_job_in_the_image_fails_with_a_wrong_secret_key(image, settings):
    env = {
        "LAKEHOUSE_S3_ENDPOINT": settings.s3_endpoint,
        "LAKEHOUSE_S3_ACCESS_KEY": settings.s3_access_key,
        "LAKEHOUSE_S3_SECRET_KEY": "not-the-secret",  # pragma: allowlist secret
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    failed = in_image(image, "lakehouse smoke", env)
    assert failed.returncode != 0
    assert "rejected the credentials" in failed.stdout + failed.stderr
