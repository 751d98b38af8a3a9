"""Fixtures shared by the integration tests, defined once so that a session generates and
curates each of its datasets once: the three generated days, day 1 curated once (the
reference every faulted, killed or rerun day 1 must equal), the three days curated one run
each, and the days the Superset tests (REST and browser) read."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
import requests

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.plan import RunWindow
from tests.integration.lakehelpers import DATASET, DAY1, DAYS, EVENTS, RATES, clone, edited_checks, lake
from tests.integration.supersethelpers import Superset, curate_served_days, local_secret

# `make test` runs the tests in three pytest-xdist workers (`--dist loadgroup`). A group runs
# whole in one worker, in file order; the three groups come first in collection order, so
# each worker starts with one of them. "served": what shares the one served warehouse (the
# lake Trino's catalog names, one run at a time under its lock), Airflow, Superset, and the
# fault test that publishes to the served warehouse. "isolated": tests whose state is all
# their own (a local directory, a fault proxy and warehouse of their own, the Spark checks
# of the contracts, the jobs image; its smoke job overwrites the stack's smoke table with
# the same rows, well before the stack tests' own smoke run in the served worker's order).
# A test can also name its group (xdist_group marker): the replay and incremental-model
# tests, each on a warehouse of its own, join "isolated" to even out the workers' loads
# (in CI: scenarios ~63 min, served ~58, isolated ~46 before they moved).
# "scenarios": every other integration test, each on a warehouse of its own,
# sharing the session's curated days (clean_day1, three_days, warned_rerun) so that they
# are curated once. Unit tests go to whichever worker is free.
GROUP_OF_MODULE = {
    "test_airflow": "served",
    "test_dashboards_in_browser": "served",
    "test_readers_during_writes": "served",
    "test_stack": "served",
    "test_superset": "served",
    "test_contracts_in_spark": "isolated",
    "test_envelope_in_spark": "isolated",
    "test_faults": "isolated",
    "test_image": "isolated",
    "test_local_warehouse": "isolated",
}
SERVED_FIXTURES = {"trino_conn", "served_days", "superset", "superset_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" not in item.nodeid.split("/") or item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.partition("::")[0].rpartition("/")[2].removesuffix(".py")
        if module in GROUP_OF_MODULE:
            group = GROUP_OF_MODULE[module]
        elif SERVED_FIXTURES & set(getattr(item, "fixturenames", ())):
            group = "served"
        else:
            group = "scenarios"
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def dataset(settings) -> str:
    """Three generated days in the raw bucket; returns their s3a:// location."""
    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, DATASET + "/")
    for day in DAYS:
        generate_day(GeneratorConfig(day=day, events=EVENTS, seed=101, rates=RATES), sink, workers=2)
    return f"s3a://{settings.raw_bucket}/{DATASET}"


@pytest.fixture(scope="session")
def clean_day1(spark, settings, dataset):
    """Day 1 curated by one run with nothing in the way, on a warehouse of its own; returns
    (its settings, the run's counts). Shared and read-only: tests that change it `clone` it."""
    scenario = lake(settings, dataset, "clean")
    counts = run_window(scenario, RunWindow(DAY1, DAY1 + timedelta(days=1)), FaultInjection())
    return scenario, counts


@pytest.fixture(scope="session")
def three_days(spark, settings, dataset, clean_day1):
    """A warehouse with the three days curated one run each (in this process): a copy of
    clean_day1 (its first run) and one run of each later day. Shared: tests that change
    it work on a `clone`."""
    scenario = clone(settings, clean_day1[0], "three-days")
    for day in DAYS[1:]:
        run_window(scenario, RunWindow(day, day + timedelta(days=1)), FaultInjection())
    return scenario


@pytest.fixture(scope="session")
def warned_rerun(spark, settings, three_days, tmp_path_factory):
    """A copy of three_days with the third day run again under a warn expectation that
    cannot pass (median fare <= 1): a full rerun (the definitions changed) whose gate
    warns and holds nothing back. Returns (its settings, the run's counts)."""
    definitions = edited_checks(tmp_path_factory.mktemp("warn"), "silver.taxi_trips", "fare_amount", max_value=1)
    scenario = clone(settings, three_days, "warned").with_overrides(definitions_dir=definitions)
    counts = run_window(scenario, RunWindow(DAYS[2], DAYS[2] + timedelta(days=1)), FaultInjection())
    return scenario, counts


@pytest.fixture(scope="session")
def superset_url() -> str:
    base_url = f"http://127.0.0.1:{os.environ.get('SUPERSET_PORT', '8088')}"
    try:
        health = requests.get(f"{base_url}/health", timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"Superset is not running on {base_url}: `make up` starts it")
    assert health.status_code == 200 and health.text.strip() == "OK"
    return base_url


@pytest.fixture(scope="session")
def superset(superset_url) -> Superset:
    return Superset(superset_url, local_secret("SUPERSET_ADMIN_PASSWORD"))


@pytest.fixture(scope="session")
def served_days(spark, settings) -> list[date]:
    """Two small days of this session's own, curated into the served lake."""
    return curate_served_days(settings)
