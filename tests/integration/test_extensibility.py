"""A new source added with files only, as a newcomer would: a bike-share contract (with its
checks and the generator's realism), a gold daily aggregate and a serving view, copied
into a temporary copy of the definitions. No Python changes. A generated day goes through
the job, and silver, quarantine, the quality results, gold and the view in Trino are
checked against the generator's truth."""

from __future__ import annotations

import gzip
import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.plan import RunWindow
from jobs.definitions import DEFINITIONS_DIR, VIEWS_DIR, Definitions
from jobs.publish import publish
from jobs.trino_catalog import query, trino_connection
from tests.conftest import ROOT
from tests.integration.lakehelpers import RATES, keys_as_truth, lake, read, truth, truth_keys

pytestmark = pytest.mark.integration
BIKES = ROOT / "tests" / "fixtures" / "bike_share"
DAY = date(2025, 3, 5)
TABLE, MODEL, VIEW = "silver.bike_trips", "gold.agg_bike_trips_daily", "serving.bike_trips_daily"


def with_bike_share(tmp_path) -> tuple[str, str]:
    """The project's definitions and views, plus the bike-share files: what a newcomer writes."""
    definitions, views = tmp_path / "models", tmp_path / "views"
    shutil.copytree(DEFINITIONS_DIR, definitions)
    shutil.copytree(VIEWS_DIR, views)
    for kind in ("contracts", "gold"):
        for path in (BIKES / kind).iterdir():
            shutil.copy(path, definitions / kind)
    for path in (BIKES / "views").iterdir():
        shutil.copy(path, views)
    return str(definitions), str(views)


@pytest.mark.xdist_group("served")  # registers its tables and view in the served Trino for a moment
def test_a_new_event_type_added_with_files_only_is_curated_checked_modelled_and_served(spark, settings, tmp_path):
    definitions_dir, views_dir = with_bike_share(tmp_path)
    dataset = f"tests/bikes-{uuid.uuid4().hex[:6]}"
    config = GeneratorConfig(day=DAY, events=6_000, seed=11, rates=RATES, definitions_dir=definitions_dir)
    generated = generate_day(
        config, ObjectStoreBucket.as_loader(settings, settings.raw_bucket, dataset + "/"), workers=2
    )
    assert generated["expected"]["silver"][TABLE]["rows"] > 100
    scenario = lake(
        settings,
        f"s3a://{settings.raw_bucket}/{dataset}",
        "bikes",
        definitions_dir=definitions_dir,
        views_dir=views_dir,
    )
    definitions = Definitions.load(scenario)
    contract = definitions.contracts.current(definitions.contracts.target_tables[TABLE])

    run_window(scenario, RunWindow(DAY, DAY + timedelta(days=1)), FaultInjection())

    # Silver holds exactly the valid trips, each once; quarantine every bad line with its reason.
    assert keys_as_truth(read(spark, scenario, TABLE), contract) == truth_keys(
        settings, [DAY], TABLE, dataset, Path(definitions_dir)
    )
    expected = {}
    for line in gzip.decompress(truth(settings, DAY, "quarantine.tsv.gz", dataset)).decode().splitlines():
        file, line_number, _category, reason = line.split("\t")
        expected[(file, int(line_number))] = [reason]
    prefix = f"{scenario.raw_uri}/"
    got = {
        (r.source_file.removeprefix(prefix), r.line_number): r.reasons
        for r in read(spark, scenario, "quarantine.events").collect()
    }
    assert got == expected
    bike_lines = read(spark, scenario, "quarantine.events").where(F.col("raw_line").contains('"BikeShareTrip"'))
    bike_reasons = {reason.split(":")[0] for r in bike_lines.select("reasons").collect() for reason in r.reasons}
    assert {"rule", "wrong_type", "missing_field"} <= bike_reasons  # its own defects, named by its contract

    # Its checks ran, from the contract and the model header: every expectation passed.
    results = read(spark, scenario, "ops.quality_results").where(F.col("table_name").isin(TABLE, MODEL)).collect()
    assert {r.suite for r in results} == {TABLE, f"{TABLE}.volume", MODEL}
    assert len(results) == 3 + 2 + 2 and all(r.success for r in results)

    # Gold: the trips per date, rider and bike type, as silver says.
    silver = read(spark, scenario, TABLE)
    oracle = {
        (r.business_date, r.rider_type, r.bike_type): (r.trips, r.minutes)
        for r in silver.groupBy("business_date", "rider_type", "bike_type")
        .agg(F.count(F.lit(1)).alias("trips"), (F.sum("duration_s") / 60.0).alias("minutes"))
        .collect()
    }
    gold = {
        (r.business_date, r.rider_type, r.bike_type): (r.trips, r.total_minutes)
        for r in read(spark, scenario, MODEL).collect()
    }
    assert gold.keys() == oracle.keys() and len(gold) >= 4
    assert all(gold[k][0] == oracle[k][0] and abs(gold[k][1] - oracle[k][1]) < 1e-6 for k in gold)

    # The view in Trino, read by the analyst: the new tables and view registered for the
    # check, then removed from the served catalog.
    views = tmp_path / "bike_view"
    views.mkdir()
    shutil.copy(BIKES / "views" / f"{VIEW}.sql", views)
    conn = trino_connection(scenario)
    try:
        published = publish(scenario, [TABLE, MODEL], views, [])  # the new source's, no view model
        assert published == {"tables": [TABLE, MODEL], "views": [VIEW]}
        served = query(
            trino_connection(scenario, as_analyst=True),
            f"SELECT business_date, trips, member_trips FROM {VIEW} ORDER BY business_date",
        )
        by_date: dict = {}
        for (day, rider, _bike), (trips, _minutes) in oracle.items():
            total, members = by_date.get(day, (0, 0))
            by_date[day] = (total + trips, members + (trips if rider == "member" else 0))
        assert [(d, t, m) for d, t, m in served] == [(d, *by_date[d]) for d in sorted(by_date)]
    finally:
        query(conn, f"DROP VIEW IF EXISTS {VIEW}")
        for table in (TABLE, MODEL):
            schema, name = table.split(".")
            listed = "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
            if query(conn, listed, [schema, name])[0][0]:
                query(conn, f"CALL system.unregister_table(schema_name => '{schema}', table_name => '{name}')")
