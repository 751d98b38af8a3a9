"""Shared fixtures: one Spark session per test run (the slow part), the settings of
the local stack, and a Trino connection. Servers are not optional: `make test`
starts them, and a test that cannot reach them fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jobs.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def spark_settings() -> Settings:
    """What the tests' one Spark session is built with: it needs no server itself, so
    the tests of a local-directory warehouse share it too. Its driver lives as long as the
    session and runs dozens of jobs, so it keeps the JIT's full tiers: `make test`'s
    TEST_JAVA_OPTIONS (C1 only) are for the short-lived drivers the tests start."""
    return Settings.load().with_overrides(
        spark_master="local[2]", spark_driver_memory="3g", spark_driver_java_options=""
    )


@pytest.fixture(scope="session")
def settings(spark_settings) -> Settings:
    assert spark_settings.s3_access_key, "no job credentials: run the tests with `make test`"
    return spark_settings


@pytest.fixture(scope="session")
def spark(spark_settings):
    from jobs.spark import build_spark_session

    session = build_spark_session(spark_settings, "lakehouse-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def trino_conn(settings):
    from jobs.trino_catalog import trino_connection

    return trino_connection(settings)


def run(command: list[str], env: dict[str, str] | None = None, timeout: int = 1800):
    """Run a project command from the repository root; capture its output."""
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
