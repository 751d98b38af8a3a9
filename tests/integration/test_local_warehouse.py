"""Reruns on a local-directory warehouse (no servers at all): a second run over the same
files rewrites exactly what the first one wrote (issue 18: the bronze replaceWhere named
a file one way and its rows another, and the rerun failed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.curation.job import FaultInjection, run_window
from jobs.curation.plan import RunWindow
from jobs.generator.generate import GeneratorConfig, generate_day
from jobs.generator.sinks import LocalDirectory
from jobs.models import load_models
from jobs.quality import QualityGateError
from jobs.settings import Settings
from tests.integration.lakehelpers import CURATED, DAY1, RATES, checksums, edited_expectations, ledger, read

pytestmark = pytest.mark.integration
WINDOW = RunWindow(DAY1, DAY1 + timedelta(days=1))
TABLES = [*CURATED, "ops.ingested_files", *(model.table for model in load_models())]


def local_lake(tmp_path, raw_uri: str, **overrides) -> Settings:
    """A warehouse in a directory; nothing listens on the endpoints, so a run that
    reached for a server would fail."""
    return Settings().with_overrides(
        warehouse=f"file://{tmp_path / 'lake'}", raw_uri=raw_uri, trino_register=False,
        s3_endpoint="http://127.0.0.1:9", trino_port=9, lock_wait_seconds=5, **overrides)


def source_files(spark, scenario, table: str) -> set[str]:
    return {r[0] for r in read(spark, scenario, table).select("source_file").distinct().collect()}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    directory = tmp_path_factory.mktemp("raw")
    generate_day(GeneratorConfig(day=DAY1, events=3_000, seed=5, rates=RATES), LocalDirectory(directory), workers=2)
    return directory


@pytest.fixture(scope="module")
def clean(spark, raw, tmp_path_factory):
    """One clean run, raw files named as a plain directory; its tables as they were then."""
    scenario = local_lake(tmp_path_factory.mktemp("clean"), str(raw))
    run_window(scenario, WINDOW, FaultInjection())
    return scenario, checksums(spark, scenario, TABLES)


def test_every_table_names_a_file_the_same_way(spark, raw, clean):
    scenario, tables = clean
    assert all(tables[t] for t in CURATED), "a comparison of empty tables would prove nothing"
    on_disk = {f"file://{p}" for p in raw.glob("event_date=*/hour=*/*.jsonl.gz")}
    assert source_files(spark, scenario, "ops.ingested_files") == on_disk
    assert source_files(spark, scenario, "bronze.events") | source_files(spark, scenario, "quarantine.events") \
        <= on_disk


def test_a_reprocessed_window_leaves_the_tables_unchanged(spark, clean):
    scenario, tables = clean
    run_window(scenario, WINDOW, FaultInjection(), reprocess=True)
    last = ledger(spark, scenario)[-1]
    assert last.status == "succeeded" and last.unchanged_since is None  # really run again, not skipped
    assert checksums(spark, scenario, TABLES) == tables


def test_a_rerun_after_a_failed_quality_gate_equals_one_clean_run(spark, raw, clean, tmp_path):
    # A critical expectation no day can meet: silver is written, then the gate stops the run.
    impossible = edited_expectations(tmp_path, "silver.taxi_trips.volume", "rows", min_value=1_000_000)
    # The raw directory given as a file:/// URI this time: the same files, the same names.
    scenario = local_lake(tmp_path, f"file://{raw}", expectations_dir=str(impossible))
    with pytest.raises(QualityGateError, match="silver.taxi_trips.volume"):
        run_window(scenario, WINDOW, FaultInjection())
    assert read(spark, scenario, "bronze.events").count() > 0  # the failed run did write bronze

    fixed = scenario.with_overrides(expectations_dir="")
    run_window(fixed, WINDOW, FaultInjection())
    assert [r.status for r in ledger(spark, fixed) if r.status != "running"] == ["failed", "succeeded"]
    _, reference = clean
    assert checksums(spark, fixed, TABLES) == reference
