"""Quality gates (Great Expectations) in real runs against MinIO and Delta: an error
holds back its table and every model downstream of it while the rest goes on, a warn is
recorded, thresholds live in the declarations beside each table, and ops.quality_results holds what GE
itself reported."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.plan import RunWindow
from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.quality import QualityGate, QualityGateError
from jobs.quality_context import EXPECTATIONS_DIR
from jobs.quality_results import RESULTS_SCHEMA, SEVERITY, failures, result_rows
from tests.integration.lakehelpers import (
    DATASET,
    DAYS,
    EVENTS,
    RATES,
    clone,
    edited_checks,
    ledger,
    read,
)

pytestmark = pytest.mark.integration
LOW_DAY = DAYS[-1] + timedelta(days=1)
GOLD = ["gold.fct_taxi_trips", "gold.agg_taxi_daily", "gold.agg_token_transfers_daily"]  # written by a run


def versions(spark, scenario, tables):
    from jobs.curation import lake

    return {t: lake.table_version(spark, scenario.table_path(*t.split("."))) for t in tables}


@pytest.fixture(scope="module")
def low_day(settings, dataset):
    """A fourth day with a tenth of the usual volume (an upstream outage)."""
    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, DATASET + "/")
    generate_day(GeneratorConfig(day=LOW_DAY, events=EVENTS // 10, seed=101, rates=RATES), sink, workers=2)
    return LOW_DAY


def test_an_anomalous_volume_drop_holds_back_the_models_of_the_dropped_tables(spark, settings, three_days, low_day):
    scenario = clone(settings, three_days, "volume-drop")
    gold_before = versions(spark, scenario, GOLD)

    with pytest.raises(QualityGateError, match="volume_ratio") as raised:
        run_window(scenario, RunWindow(low_day, low_day + timedelta(days=1)), FaultInjection())

    # both event sources dropped: their silver tables and every model reading them are held back
    held = sorted(["silver.taxi_trips", "silver.token_transfers", *GOLD])
    assert raised.value.held_back == held
    assert versions(spark, scenario, GOLD) == gold_before
    assert read(spark, scenario, "gold.agg_taxi_daily").where(F.col("business_date") == low_day).count() == 0
    last = ledger(spark, scenario)[-1]
    assert last.status == "held_back" and last.window_start == low_day and sorted(last.held_back) == held
    assert sorted(last.quality_failures) == sorted(raised.value.failed)
    assert any("silver.taxi_trips.volume" in f and "volume_ratio" in f for f in last.quality_failures)
    results = read(spark, scenario, "ops.quality_results").where(F.col("run_id") == last.run_id).collect()
    failed = {(r.suite, r.column_name) for r in results if not r.success and r.severity == "error"}
    assert ("silver.taxi_trips.volume", "volume_ratio") in failed
    assert ("silver.token_transfers.volume", "volume_ratio") in failed
    assert not [r for r in results if r.layer == "gold" and r.table_name in held]  # never built, never checked


def test_a_warn_failure_is_recorded_and_the_run_succeeds(spark, warned_rerun):
    scenario, counts = warned_rerun
    last = ledger(spark, scenario)[-1]
    assert last.status == "succeeded" and not last.quality_failures
    assert counts["quality_failed_error"] == 0 and counts["quality_failed_warn"] >= 1
    median = (
        read(spark, scenario, "ops.quality_results")
        .where((F.col("run_id") == last.run_id) & (F.col("column_name") == "fare_amount"))
        .collect()
    )
    assert [(r.severity, r.success) for r in median] == [("warn", False)]
    assert float(median[0].observed_value) > 1
    assert last.data_docs.endswith(f"/ops/data_docs/{last.run_id}/index.html")


def test_quality_results_rows_match_what_ge_stored_in_a_private_copy_of_the_context(spark, three_days, tmp_path):
    """GE keeps its own validation results in its store; the rows of ops.quality_results
    must say the same. The store and the Data Docs are in the gate's own copy of the
    context: the definitions stay untouched, so runs at the same time share nothing."""
    window = RunWindow(DAYS[2], DAYS[2] + timedelta(days=1))
    edited = edited_checks(tmp_path, "silver.taxi_trips", "fare_amount", max_value=1)  # a warn that fails
    before = files_read(edited)
    scenario = three_days.with_overrides(definitions_dir=edited)
    gate = QualityGate.open(spark, scenario, Definitions.load(scenario))
    gate.check("silver", {DAYS[2]}, window, curated=set(DAYS[:2]))
    gate.check("gold", {DAYS[2]}, window, only={"gold.agg_taxi_daily", "gold.agg_token_transfers_daily"})
    site = gate.build_docs()
    fields = RESULTS_SCHEMA.fieldNames()
    rows = {
        (r["suite"], r["expectation_id"]): r
        for r in (dict(zip(fields, t, strict=True)) for t in result_rows("r1", window, gate.outcomes))
    }
    store = gate.context.validation_results_store
    stored = []
    for key in store.list_keys():
        suite_result = store.get(key)
        assert suite_result is not None, key
        stored.append(suite_result)
    assert {s.suite_name for s in stored} == {suite for suite, _ in rows}
    assert {"silver.taxi_trips", "silver.token_transfers.volume", "gold.agg_taxi_daily"} <= {suite for suite, _ in rows}
    seen = 0
    for suite_result in stored:
        for r in suite_result.results:
            row = rows[(suite_result.suite_name, str(r.expectation_config.id))]
            assert row["expectation_type"] == r.expectation_config.type
            assert row["success"] == r.success
            assert (
                row["severity"]
                == SEVERITY[getattr(r.expectation_config.severity, "value", r.expectation_config.severity)]
            )
            assert row["unexpected_count"] == r.result.get("unexpected_count")
            assert row["element_count"] == r.result.get("element_count")
            observed = r.result.get("observed_value")
            assert row["observed_value"] == (None if observed is None else json.dumps(observed, default=str))
            seen += 1
    assert seen == len(rows) >= 20
    warned = {r["column_name"] for r in rows.values() if r["severity"] == "warn" and not r["success"]}
    assert "fare_amount" in warned  # the edited copy's threshold, not the committed one
    # a row expectation's counts are recorded (cash payments: unexpected, within `mostly`), and GE keeps a few
    # of the unexpected values for the Data Docs
    (payments,) = [r for s in stored for r in s.results if r.expectation_config.kwargs.get("column") == "payment_type"]
    recorded = rows[("silver.taxi_trips", str(payments.expectation_config.id))]
    assert 0 < recorded["unexpected_count"] < recorded["element_count"] and recorded["success"]
    assert payments.result["partial_unexpected_list"] and 1 not in payments.result["partial_unexpected_list"]
    # a Spark suite's results have their counts, without the second pass for example values
    (known,) = [r for s in stored for r in s.results if r.expectation_config.kwargs.get("column") == "token_known"]
    assert known.result["element_count"] > 0 and known.result["unexpected_count"] is not None
    assert not known.result.get("partial_unexpected_list")
    assert site.is_file() and not site.is_relative_to(EXPECTATIONS_DIR) and not site.is_relative_to(edited)
    gate.close()
    assert not site.exists()
    assert files_read(edited) == before


def files_read(definitions: str) -> dict[str, bytes]:
    """The files a gate reads: the GE project's (but what GE writes in uncommitted/) and the definitions'."""
    files = [p for p in EXPECTATIONS_DIR.rglob("*") if p.is_file() and "uncommitted" not in p.parts]
    return {str(p): p.read_bytes() for p in [*files, *(p for p in Path(definitions).rglob("*") if p.is_file())]}


def test_a_threshold_edited_in_the_contract_changes_the_outcome(spark, settings, three_days, tmp_path):
    """No code change: the same gate, the same data, one number edited in a contract's checks."""
    window = RunWindow(DAYS[2], DAYS[2] + timedelta(days=1))
    curated = set(DAYS[:2])

    def errors(definitions_dir: str):
        scenario = three_days.with_overrides(definitions_dir=definitions_dir)
        gate = QualityGate.open(spark, scenario, Definitions.load(scenario))
        return failures(gate.check("silver", {DAYS[2]}, window, curated=curated))

    assert errors("") == []
    # The third day has a few hundred trips; demanding a million of them fails it.
    strict = edited_checks(tmp_path, "silver.taxi_trips", volume={"min_rows": 1_000_000})
    assert errors(strict) == ["silver.taxi_trips.volume: expect_column_values_to_be_between(rows)"]


def test_beyond_its_window_a_gate_checks_what_no_gate_passed_and_every_row_sharing_its_key(spark, settings, three_days):
    """A run's late rows land on earlier dates that earlier gates passed whole: there, only
    the rows of runs not settled (killed, held back, or rows the ledger never saw) are
    checked, with every row sharing their key, so uniqueness still holds against the date."""
    table = "silver.token_transfers"
    scenario = clone(settings, three_days, "gate-scope")
    runs = ledger(spark, scenario)
    settled = {r.run_id for r in runs if r.status == "succeeded"}
    (second_day_run,) = [r.run_id for r in runs if r.status == "succeeded" and r.window_start == DAYS[1]]
    silver = read(spark, scenario, table).where(F.col("business_date").isin(DAYS))
    whole = silver.count()
    on_window = silver.where(F.col("business_date") == DAYS[2]).count()
    second_day_beyond = silver.where((F.col("run_id") == second_day_run) & (F.col("business_date") < DAYS[2])).count()
    assert on_window > 0 and second_day_beyond > 0
    # an intruder: a copy of a row on the first day (of another run than the second day's),
    # written by a run no ledger knows
    (copied,) = (
        silver.where((F.col("business_date") == DAYS[0]) & (F.col("run_id") != second_day_run)).limit(1).collect()
    )
    intruder = spark.createDataFrame([copied], silver.schema).withColumn("run_id", F.lit("intruder"))
    intruder.write.format("delta").mode("append").save(path_of(scenario, table))

    def uniqueness(settled_runs):
        gate = QualityGate.open(spark, scenario, Definitions.load(scenario))
        window = RunWindow(DAYS[2], DAYS[2] + timedelta(days=1))
        outcomes = gate.check("silver", set(DAYS), window, only={table}, settled_runs=settled_runs)
        gate.close()
        (outcome,) = [o for o in outcomes if o.suite == table]
        (result,) = [
            r
            for r in outcome.result.results
            if r.expectation_config is not None and r.expectation_config.type == "expect_compound_columns_to_be_unique"
        ]
        return result.success, result.result["element_count"], result.result["unexpected_count"]

    # the window whole, and the intruder with the row it copies
    assert uniqueness(settled) == (False, on_window + 2, 2)
    # what a gate passed is not checked again
    assert uniqueness(settled | {"intruder"}) == (True, on_window, 0)
    # a run that did not settle: its rows beyond the window are checked again
    assert uniqueness(settled - {second_day_run} | {"intruder"}) == (True, on_window + second_day_beyond, 0)
    # without the ledger's word (a replay): the dates whole
    assert uniqueness(None) == (False, whole + 1, 2)
