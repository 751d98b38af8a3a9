"""Reruns on a local-directory warehouse (no servers at all): a second run over the same
files rewrites exactly what the first one wrote (issue 18: the bronze replaceWhere named
a file one way and its rows another, and the rerun failed)."""

from __future__ import annotations

import gzip
import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import LocalDirectory
from jobs.curation import lake
from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.plan import RunWindow
from jobs.models import load_models
from jobs.quality import QualityGateError
from jobs.settings import Settings
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import CURATED, DAY1, RATES, checksums, edited_checks, env_for, ledger, read

pytestmark = pytest.mark.integration
WINDOW = RunWindow(DAY1, DAY1 + timedelta(days=1))
TABLES = [*CURATED, "ops.ingested_files", *(model.table for model in load_models())]


def local_lake(tmp_path, raw_uri: str, **overrides) -> Settings:
    """A warehouse in a directory; nothing listens on the endpoints, so a run that
    reached for a server would fail."""
    return Settings().with_overrides(
        warehouse=f"file://{tmp_path / 'lake'}",
        raw_uri=raw_uri,
        trino_register=False,
        s3_endpoint="http://127.0.0.1:9",
        trino_port=9,
        lock_wait_seconds=5,
        **overrides,
    )


def source_files(spark, scenario, table: str) -> set[str]:
    return {r[0] for r in read(spark, scenario, table).select("source_file").distinct().collect()}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    directory = tmp_path_factory.mktemp("raw")
    generate_day(GeneratorConfig(day=DAY1, events=3_000, seed=5, rates=RATES), LocalDirectory(directory), workers=2)
    return directory


@pytest.fixture(scope="module")
def clean(spark, raw, tmp_path_factory):
    """One clean `lakehouse run` (a spark-submit of its own, with no server to reach), raw
    files named as a plain directory; its tables as they were then."""
    scenario = local_lake(tmp_path_factory.mktemp("clean"), str(raw))
    env = {
        **env_for(scenario),
        "LAKEHOUSE_S3_ENDPOINT": scenario.s3_endpoint,  # nothing listens there
        "LAKEHOUSE_TRINO_PORT": str(scenario.trino_port),
    }
    result = run([str(ROOT / ".venv/bin/lakehouse"), "run", "--date", str(DAY1)], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return scenario, checksums(spark, scenario, TABLES)


def test_the_job_runs_with_no_servers_and_silver_holds_the_truth(spark, raw, clean):
    scenario, _ = clean
    for table in ("silver.taxi_trips", "silver.token_transfers"):  # facts: one truth line per row
        truth = gzip.decompress((raw / f"_truth/event_date={DAY1}/keys/{table}.tsv.gz").read_bytes())
        assert read(spark, scenario, table).count() == len(truth.decode().splitlines()) > 100, table
    # the run's Data Docs site is in the warehouse, and `lakehouse docs` points at it
    first = next(r for r in ledger(spark, scenario) if r.status == "succeeded")
    site = Path(first.data_docs.removeprefix("file://"))
    assert site.parent.name == first.run_id and "silver.taxi_trips" in site.read_text()
    listed = run([str(ROOT / ".venv/bin/lakehouse"), "docs"], env=env_for(scenario))
    assert listed.returncode == 0 and site.resolve().as_uri() in listed.stdout.split(), listed.stdout


def test_every_table_names_a_file_the_same_way(spark, raw, clean):
    scenario, tables = clean
    assert all(tables[t] for t in CURATED), "a comparison of empty tables would prove nothing"
    on_disk = {f"file://{p}" for p in raw.glob("event_date=*/hour=*/*.jsonl.gz")}
    assert source_files(spark, scenario, "ops.ingested_files") == on_disk
    assert (
        source_files(spark, scenario, "bronze.events") | source_files(spark, scenario, "quarantine.events") <= on_disk
    )


def test_a_reprocessed_window_leaves_the_tables_unchanged_and_an_unchanged_rerun_is_skipped(spark, clean):
    scenario, tables = clean
    rerun = run_window(scenario, WINDOW, FaultInjection(), reprocess=True)
    last = ledger(spark, scenario)[-1]
    assert last.status == "succeeded" and last.unchanged_since is None  # really run again, not skipped
    assert checksums(spark, scenario, TABLES) == tables
    assert rerun["inserted"] == 0
    assert rerun["duplicates_history"] == rerun["valid"] - rerun["duplicates_in_window"]
    # without --reprocess: the same files and definitions as the last successful run, nothing to do
    assert run_window(scenario, WINDOW, FaultInjection()) == {}
    assert checksums(spark, scenario, TABLES) == tables
    runs = ledger(spark, scenario)
    assert [r.status for r in runs] == ["running", "succeeded"] * 2 + ["succeeded"]
    assert runs[-1].unchanged_since == runs[-2].run_id and runs[-1].files == runs[-2].files > 0
    assert len({r.input_fingerprint for r in runs if r.status == "succeeded"}) == 1


def test_a_failing_table_holds_back_its_own_models_the_rest_goes_on_and_the_fixed_rerun_equals_one_clean_run(
    spark, raw, clean, tmp_path
):
    # A critical expectation no day can meet, on the taxi trips only: silver is written,
    # then the gate holds the taxi trips and their models back, the token tables and
    # models go on, and the run fails loudly.
    impossible = edited_checks(tmp_path, "silver.taxi_trips", volume={"min_rows": 1_000_000})
    # The raw directory given as a file:/// URI this time: the same files, the same names.
    scenario = local_lake(tmp_path, f"file://{raw}", definitions_dir=impossible)
    with pytest.raises(QualityGateError, match=r"silver\.taxi_trips\.volume") as raised:
        run_window(scenario, WINDOW, FaultInjection())
    taxi_models = ["gold.agg_taxi_daily", "gold.fct_taxi_trips"]
    assert raised.value.held_back == [*taxi_models, "silver.taxi_trips"]
    assert read(spark, scenario, "bronze.events").count() > 0  # the failed run did write bronze
    gold = [model.table for model in load_models() if not model.is_view]
    built = {t for t in gold if lake.table_version(spark, scenario.table_path(*t.split("."))) is not None}
    assert built == set(gold) - set(taxi_models)  # the token models went on
    _, reference = clean
    tokens = ["silver.token_transfers", "silver.tokens", "gold.fct_token_transfers", "gold.agg_token_transfers_daily"]
    assert checksums(spark, scenario, tokens) == {t: reference[t] for t in tokens}

    # Loud every time: the same input and definitions again is a full run, failing the same way.
    with pytest.raises(QualityGateError):
        run_window(scenario, WINDOW, FaultInjection())
    runs = ledger(spark, scenario)
    assert [r.status for r in runs] == ["running", "held_back"] * 2 and runs[-1].unchanged_since is None
    assert sorted(runs[-1].held_back) == sorted([*taxi_models, "silver.taxi_trips"])

    fixed = scenario.with_overrides(definitions_dir="")
    run_window(fixed, WINDOW, FaultInjection())
    assert [r.status for r in ledger(spark, fixed) if r.status != "running"] == ["held_back"] * 2 + ["succeeded"]
    assert checksums(spark, fixed, TABLES) == reference


def test_objects_outside_the_layout_are_skipped_and_reported_never_ingested(spark, raw, clean, tmp_path, caplog):
    """Copies of real data files under names the upstream layout does not have: a run
    reads none of them, and its ledger row and log name each."""
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    data_file = next(copy.glob("event_date=*/hour=*/*.jsonl.gz"))
    day = copy / f"event_date={DAY1}"
    foreign = [
        day / "hour=24" / data_file.name,  # no such hour
        day / data_file.parent.name / f".{data_file.name}.tmp",  # an upload in progress
        copy / f"event_date={DAY1.year}-{DAY1.month}-{DAY1.day}" / "hour=00" / data_file.name,
    ]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_file, path)

    scenario = local_lake(tmp_path, str(copy))
    with caplog.at_level(logging.WARNING, logger="curate"):
        run_window(scenario, WINDOW, FaultInjection())
    silver = [t for t in CURATED if t.startswith("silver.")]
    assert checksums(spark, scenario, silver) == {t: clean[1][t] for t in silver}  # not one row more
    reported = ledger(spark, scenario)[-1].files_outside_layout
    assert reported == [f"file://{foreign[1]}", f"file://{foreign[0]}", f"{foreign[2].parent.parent.name}/"]
    assert all(name in caplog.text for name in reported)
