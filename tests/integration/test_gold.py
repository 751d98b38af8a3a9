"""Gold: the data model recomputed incrementally, checked against an independent oracle,
served by Trino, with read-only analysts."""

from __future__ import annotations

import gzip
import logging
import uuid
from datetime import timedelta
from decimal import Context, Decimal

import pytest
from pyspark.sql import functions as F

from jobs.curation.faults import FaultInjection
from jobs.curation.job import run_window
from jobs.curation.plan import RunWindow
from jobs.definitions import VIEWS_DIR, Definitions
from jobs.landing import marker_key
from jobs.models import load_models
from jobs.object_store import s3_client
from jobs.publish import publish
from jobs.trino_catalog import query, replace_with_view, sql_literal
from tests.conftest import ROOT, run
from tests.integration.lakehelpers import (
    CURATED,
    DATASET,
    DAY1,
    DAYS,
    RUN_LINEAGE,
    checksums,
    env_for,
    lake,
    ledger,
    read,
    truth,
)
from tests.oracle import daily_aggregates

pytestmark = pytest.mark.integration
GOLD = [model.table for model in load_models()]


def raw_files(settings, days) -> tuple[dict[str, bytes], set[tuple[str, int]]]:
    s3 = s3_client(settings)
    files, bad = {}, set()
    for day in days:
        listing = s3.list_objects_v2(Bucket=settings.raw_bucket, Prefix=f"{DATASET}/event_date={day}/")
        for obj in listing.get("Contents", []):
            name = obj["Key"].removeprefix(f"{DATASET}/")
            if name == marker_key(day):  # the loader's completion marker holds no events
                continue
            files[name] = s3.get_object(Bucket=settings.raw_bucket, Key=obj["Key"])["Body"].read()
        for row in gzip.decompress(truth(settings, day, "quarantine.tsv.gz")).decode().splitlines():
            name, number, _, _ = row.split("\t")
            bad.add((name, int(number)))
    return files, bad


def gold_aggregates(spark, scenario) -> tuple[dict, dict]:
    taxi = {
        (str(r.business_date), r.pu_borough): {
            "trips": r.trips,
            "revenue": r.revenue,
            "tips": r.tips,
            "distance_miles": r.distance_miles,
            "card_trips": r.card_trips,
        }
        for r in read(spark, scenario, "gold.agg_taxi_daily").collect()
    }
    tokens = {
        (str(r.business_date), r.token_address): {
            "transfers": r.transfers,
            "distinct_senders": r.distinct_senders,
            "distinct_receivers": r.distinct_receivers,
            "volume_raw": r.volume_raw,
        }
        for r in read(spark, scenario, "gold.agg_token_transfers_daily").collect()
    }
    return taxi, tokens


def assert_gold_equals_oracle(spark, settings, scenario, days):
    taxi, tokens = gold_aggregates(spark, scenario)
    expected_taxi, expected_tokens = daily_aggregates(*raw_files(settings, days))
    assert len(expected_tokens) > 100 and len(expected_taxi) > 10
    assert taxi == expected_taxi
    assert tokens == expected_tokens
    assert any(int(row["volume_raw"]) > 2**200 for row in tokens.values())  # beyond any DECIMAL


def test_gold_equals_the_oracle_after_one_day(spark, settings, clean_day1):
    scenario, _ = clean_day1
    assert_gold_equals_oracle(spark, settings, scenario, [DAY1])
    for table in GOLD:
        assert read(spark, scenario, table).count() > 0, table
    zones = read(spark, scenario, "gold.fct_taxi_trips").where("pu_zone IS NULL").count()
    assert zones == 0
    amounts = (
        read(spark, scenario, "gold.fct_token_transfers").where("decimals = 18").select("value_raw", "amount").collect()
    )
    exact = Context(prec=100)  # uint256 has up to 78 digits: more than Decimal's default 28
    assert amounts and all(Decimal(r.amount) == Decimal(r.value_raw).scaleb(-18, context=exact) for r in amounts)


def test_gold_after_a_backfill_with_late_events_and_a_rerun(spark, settings, three_days, warned_rerun):
    # late events of later days landed in earlier business dates: those were recomputed
    assert_gold_equals_oracle(spark, settings, three_days, DAYS)
    # the facts were appended run by run, late events included, or are a view of silver:
    # each silver row once
    sources = {m.table: str(m.incremental_source) for m in load_models() if m.refresh == "incremental"}
    sources["gold.fct_token_transfers"] = "silver.token_transfers"  # the view's join keeps one row a transfer
    for model in (m for m in load_models() if m.table in sources):
        facts = read(spark, three_days, model.table)
        assert facts.count() == facts.select(*model.keys).distinct().count(), model.table
        assert facts.count() == read(spark, three_days, sources[model.table]).count() > 0, model.table
    # Running the third day again (in a copy, its gate warning) changes nothing: no fact
    # is rewritten, the aggregates come out the same.
    rerun, counts = warned_rerun
    assert counts["inserted"] == 0
    assert checksums(spark, rerun, GOLD, ignore=()) == checksums(spark, three_days, GOLD, ignore=())


def test_a_backfill_in_windows_of_two_days_curates_what_single_day_runs_do(spark, settings, dataset, three_days):
    windowed = lake(settings, dataset, "windowed")
    end = DAYS[-1] + timedelta(days=1)
    command = [str(ROOT / ".venv/bin/lakehouse"), "run", "--start", str(DAYS[0]), "--end", str(end)]
    result = run([*command, "--days-per-run", "2"], env=env_for(windowed))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [r for r in ledger(spark, windowed) if r.status == "succeeded"]
    assert [(r.window_start, r.window_end) for r in runs] == [(DAYS[0], DAYS[2]), (DAYS[2], end)]

    # Bronze keeps which window ingested a line; the token aggregate keeps its tokens'
    # symbols as known when it counted them (a two-day window knows the second day's
    # tokens sooner). Every other column of every table is the same: the facts, a view,
    # show every transfer's token as it is now.
    as_modelled = {"gold.agg_token_transfers_daily": ("symbol",)}
    for table in [*CURATED, *GOLD]:
        ignore = (*RUN_LINEAGE, "ingested_by_window", *as_modelled.get(table, ()))
        assert checksums(spark, windowed, [table], ignore) == checksums(spark, three_days, [table], ignore), table
    assert_gold_equals_oracle(spark, settings, windowed, DAYS)


def test_each_gold_table_reads_the_same_through_trino(spark, settings, dataset, trino_conn):
    served = settings.with_overrides(raw_uri=dataset, lock_wait_seconds=30)
    run_window(served, RunWindow(DAY1, DAY1 + timedelta(days=1)), FaultInjection())
    low, high = DAY1 - timedelta(days=5), DAY1
    for table in GOLD:
        frame = read(spark, served, table)
        where = ""
        if "business_date" in frame.columns:
            frame = frame.where(F.col("business_date").between(low, high))
            where = f" WHERE business_date BETWEEN DATE '{low}' AND DATE '{high}'"
        columns = [c for c in frame.columns if dict(frame.dtypes)[c] not in ("timestamp",)]
        spark_rows = sorted(tuple(str(v) for v in r) for r in frame.select(*columns).collect())
        trino_rows = sorted(
            tuple(str(v) for v in r) for r in query(trino_conn, f"SELECT {', '.join(columns)} FROM {table}{where}")
        )
        assert len(trino_rows) == len(spark_rows) > 0, table
        assert trino_rows == spark_rows, table


def test_publish_is_idempotent_and_creates_the_view_models_and_the_serving_views(settings, trino_conn):
    definitions = Definitions.load(settings)
    tables, view_models = definitions.published_tables, definitions.gold_views
    first = publish(settings, tables, VIEWS_DIR, view_models)
    second = publish(settings, tables, VIEWS_DIR, view_models)
    assert first == second
    # what Trino itself lists: every gold table, every view model and every view of
    # trino/views, once
    listed = query(
        trino_conn,
        "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables "
        "WHERE table_schema IN ('gold', 'serving')",
    )
    assert len(listed) == len({name for name, _ in listed})
    assert {name for name, kind in listed if kind == "BASE TABLE"} >= set(definitions.gold_tables)
    every_view = {path.stem for path in VIEWS_DIR.glob("*.sql")}  # serving.<name>.sql
    assert set(first["views"]) == every_view | {model.table for model in view_models}
    assert {name for name, kind in listed if kind == "VIEW"} >= set(first["views"])
    assert every_view <= {name for name, kind in listed if kind == "VIEW"}
    assert query(trino_conn, "SELECT count(*) FROM serving.taxi_daily")[0][0] > 0


@pytest.mark.xdist_group("served")  # registers a table of the served warehouse under another name
def test_a_model_that_was_a_table_becomes_a_view_and_its_files_stay(settings, trino_conn):
    schema = f"scratch_{uuid.uuid4().hex[:8]}"
    query(trino_conn, f"CREATE SCHEMA {schema} WITH (location = {sql_literal(settings.trino_location(schema))})")
    try:
        location = sql_literal(settings.trino_location("gold", "dim_date"))  # any Delta table of the lake
        query(
            trino_conn,
            f"CALL system.register_table(schema_name => {sql_literal(schema)}, table_name => 'modelled', "
            f"table_location => {location})",
        )
        kinds = "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = 'modelled'"
        assert query(trino_conn, kinds, [schema]) == [["BASE TABLE"]]
        replace_with_view(trino_conn, settings, f"{schema}.modelled", "SELECT 1 AS one")
        assert query(trino_conn, kinds, [schema]) == [["VIEW"]]
        assert query(trino_conn, f"SELECT one FROM {schema}.modelled") == [[1]]
        assert query(trino_conn, "SELECT count(*) FROM gold.dim_date")[0][0] > 0  # unregistered, not dropped
    finally:
        query(trino_conn, f"DROP VIEW IF EXISTS {schema}.modelled")
        query(trino_conn, f"DROP SCHEMA IF EXISTS {schema}")


@pytest.mark.xdist_group("served")  # reads what the served warehouse's runs published
def test_analysts_read_gold_and_serving_only():
    # Through make sql, as a person would; every other denial (raw layers, ops, writes, a
    # schema of their own) is test_stack's, through the same login from Python.
    denied = run(["make", "sql", "TRINO_USER=analyst", "Q=SELECT count(*) FROM delta.silver.token_transfers"])
    assert denied.returncode != 0
    assert "Access Denied" in denied.stderr
    allowed = run(["make", "sql", "TRINO_USER=analyst", "Q=SELECT count(*) FROM delta.gold.agg_token_transfers_daily"])
    assert allowed.returncode == 0, allowed.stderr
    assert int(next(word for word in allowed.stdout.split() if word.isdigit())) > 0
    view = run(["make", "sql", "TRINO_USER=analyst", "Q=SELECT sum(trips) FROM delta.serving.taxi_daily"])
    assert view.returncode == 0, view.stderr
    # the transfer facts, a view over silver: read with the rights of its owner, the pipeline
    facts = run(["make", "sql", "TRINO_USER=analyst", "Q=SELECT count(*) FROM delta.gold.fct_token_transfers"])
    assert facts.returncode == 0, facts.stderr
    assert int(next(word for word in facts.stdout.split() if word.isdigit())) > 0


@pytest.mark.xdist_group("isolated")  # a warehouse of its own: evens out the workers' loads
def test_an_incremental_model_appends_each_date_and_run_once(spark, settings, tmp_path):
    """A run killed before gold leaves silver rows on two dates; later runs touch one date,
    then both: each (date, run) is appended once, and nothing new writes nothing."""
    from datetime import date

    from jobs.gold import build_gold
    from jobs.models import parse_model

    local = settings.with_overrides(warehouse=f"file://{tmp_path / 'lake'}")
    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    silver = local.table_path("silver", "things")
    spark.createDataFrame(
        [(day1, "a", "run-1"), (day2, "b", "run-1"), (day2, "c", "run-1")],
        "business_date date, k string, run_id string",
    ).write.format("delta").save(silver)
    (tmp_path / "fct_things.sql").write_text(
        "/* ---\ntable: gold.fct_things\nkeys: [k]\nrefresh: incremental\nincremental_source: silver.things\n"
        "date_column: business_date\ndepends_on: [silver.things]\n"
        "checks: {expect: [{type: expect_column_values_to_not_be_null, column: k, severity: error}]}\n--- */\n"
        "SELECT business_date, upper(k) AS k, run_id FROM {{ silver.things }} WHERE business_date IN ({{ dates }})\n"
    )
    model = parse_model(tmp_path / "fct_things.sql")
    facts = local.table_path("gold", "fct_things")

    def rows():
        return sorted((r.business_date, r.k, r.run_id) for r in spark.read.format("delta").load(facts).collect())

    definitions = Definitions.load(local)
    build_gold(spark, local, definitions, [day1], [model])  # creates the table with day1 only
    assert rows() == [(day1, "A", "run-1")]
    spark.createDataFrame([(day1, "d", "run-2")], "business_date date, k string, run_id string").write.format(
        "delta"
    ).mode("append").save(silver)
    versions = build_gold(spark, local, definitions, [day1, day2], [model])  # run-2 on day1, and run-1's day2 rows
    assert rows() == [(day1, "A", "run-1"), (day1, "D", "run-2"), (day2, "B", "run-1"), (day2, "C", "run-1")]
    assert build_gold(spark, local, definitions, [day1, day2], [model]) == {}  # nothing new: no commit
    assert versions == {"gold.fct_things": 1}


@pytest.mark.xdist_group("served")  # reads what the served warehouse's runs published
def test_the_report_lists_every_table_of_the_definitions_with_its_rows(settings, served_days):
    """`lakehouse report` (the demo's last step) names tables from the registries only:
    every silver and gold table and view model of the definitions is there, with the rows
    Trino counts."""
    report = run([str(ROOT / ".venv/bin/lakehouse"), "report", "--date", str(served_days[-1])])
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    definitions = Definitions.load(settings)
    counted = {
        words[0]: int(words[1])
        for words in (line.split() for line in report.stdout.splitlines())
        if len(words) == 2 and "." in words[0] and words[1].isdigit()
    }
    views = [view.table for view in definitions.gold_views]
    assert views, "no view model in the definitions: this test would not see one missing"
    for table in [*definitions.contracts.target_tables, *definitions.gold_tables, *views]:
        assert counted.get(table, 0) > 0, f"{table} missing from the report:\n{report.stdout}"
    assert "Gold, as the read-only analyst" in report.stdout


@pytest.mark.xdist_group("isolated")  # a warehouse of its own: evens out the workers' loads
def test_an_additive_aggregate_equals_its_recomputation_through_late_runs_kills_and_replays(
    spark, settings, tmp_path, caplog
):
    """The daily token aggregate over transfers curated run by run (read through the
    facts view): a first day, late runs of a few rows (added alone: parties old and new,
    uint256 carries), a run whose aggregate was killed (taken in by the next), a replay
    of a date (computed whole), and a table from before runs were counted. After each
    build it equals plain Python over the facts."""
    import random
    from datetime import date

    from jobs.gold import build_gold

    caplog.set_level(logging.INFO, logger="gold")
    local = settings.with_overrides(warehouse=f"file://{tmp_path / 'lake'}")
    definitions = Definitions.load(local)
    (model,) = [m for m in definitions.models if m.table == "gold.agg_token_transfers_daily"]
    transfers_path, aggregate = local.table_path("silver", "token_transfers"), local.table_path(*model.table.split("."))
    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    schema = (  # the silver columns the facts view selects
        "business_date date, token_address string, from_address string, to_address string, value string, "
        "run_id string, transaction_hash string, log_index int, block_number long, block_hash string, "
        "block_timestamp timestamp"
    )
    chance = random.Random(7)
    tokens = [f"0xt{i}" for i in range(4)]
    parties = [f"0x{i:040x}" for i in range(25)]  # as the contract admits them: the model counts their bytes
    values = ["0", "1", str(2**256 - 1), str(10**52 - 1), str(10**26 - 1)]
    known = [(token, f"S{i}", 18) for i, token in enumerate(tokens[:-1])]  # the last one's transfers: no symbol
    dimension = spark.createDataFrame(known, "token_address string, symbol string, decimals int")
    dimension.write.format("delta").save(local.table_path("gold", "dim_token"))

    def transfers(day, run, count):
        rows = []
        for _ in range(count):
            token = chance.choice(tokens)
            value = (
                chance.choice(values) if chance.random() < 0.3 else str(chance.getrandbits(chance.choice([8, 90, 256])))
            )
            sender, receiver = chance.choice(parties), chance.choice(parties)
            rows.append((day, token, sender, receiver, value, run, f"0x{chance.getrandbits(64):x}", 0, 1, "0xb", None))
        return rows

    def append(rows, mode="append", where=None):
        writer = spark.createDataFrame(rows, schema).write.format("delta").mode(mode)
        (writer.option("replaceWhere", where) if where else writer).save(transfers_path)

    def expected():
        sums: dict = {}
        for r in read(spark, local, "gold.fct_token_transfers").collect():
            key = (r.business_date, r.token_address)
            total = sums.setdefault(
                key, {"transfers": 0, "senders": set(), "receivers": set(), "volume": 0, "symbol": None}
            )
            total["transfers"] += 1
            total["senders"].add(r.from_address)
            total["receivers"].add(r.to_address)
            total["volume"] += int(r.value_raw)
            total["symbol"] = r.symbol
        return {
            key: (t["symbol"], t["transfers"], len(t["senders"]), len(t["receivers"]), str(t["volume"]))
            for key, t in sums.items()
        }

    def held():
        rows = spark.read.format("delta").load(aggregate).collect()
        assert len(rows) == len({(r.business_date, r.token_address) for r in rows})
        return {
            (r.business_date, r.token_address): (
                r.symbol,
                r.transfers,
                r.distinct_senders,
                r.distinct_receivers,
                r.volume_raw,
            )
            for r in rows
        }

    def build(dates):
        caplog.clear()
        build_gold(spark, local, definitions, dates, [model])
        assert held() == expected()
        return caplog.text

    append(transfers(day1, "run-1", 300))
    assert "1 date(s) built" in build([day1])
    append(transfers(day1, "run-2", 25) + transfers(day2, "run-2", 200))  # late rows on day1
    assert "1 date(s) computed whole, runs added on 1" in build([day1, day2])
    append(transfers(day1, "run-3", 10) + transfers(day2, "run-3", 12))  # killed before gold
    append(transfers(day1, "run-4", 8) + transfers(day2, "run-4", 30))
    assert "0 date(s) computed whole, runs added on 2" in build([day1, day2])
    assert "nothing new" in build([day1, day2])  # a rerun: no commit
    append(transfers(day1, "run-5", 280), mode="overwrite", where=f"business_date = DATE'{day1}'")  # a replay
    assert "1 date(s) computed whole, runs added on 0" in build([day1, day2])
    append(transfers(day2, "run-6", 400))  # more than the date held: computed whole
    assert "1 date(s) computed whole, runs added on 0" in build([day2])

    # A table from before runs were counted: its dates are computed whole once, then added to
    spark.read.format("delta").load(aggregate).drop("counted_runs").withColumn("transfers", F.lit(1)).write.format(
        "delta"
    ).mode("overwrite").option("overwriteSchema", "true").save(aggregate)
    append(transfers(day1, "run-7", 5))
    assert "2 date(s) computed whole" in build([day1, day2])
    append(transfers(day1, "run-8", 5))
    assert "runs added on 1" in build([day1])
