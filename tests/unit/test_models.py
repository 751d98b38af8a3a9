from datetime import date
from pathlib import Path
from typing import cast

import pytest
from pyspark.sql import SparkSession

from jobs.definitions import Definitions
from jobs.gold import References
from jobs.models import MODELS_DIR, ModelError, downstream, load_models, parse_model
from jobs.settings import Settings


def test_models_come_in_dependency_order():
    order = [m.table for m in load_models()]
    # every model file once, whatever their number
    assert sorted(order) == sorted(f"gold.{path.stem}" for path in MODELS_DIR.glob("*.sql")) and len(set(order)) == len(
        order
    )
    for model in load_models():
        for dependency in model.depends_on:
            if dependency.startswith("gold."):
                assert order.index(dependency) < order.index(model.table), (dependency, model.table)


def test_references_and_dates_are_rendered():
    (model,) = [m for m in load_models() if m.table == "gold.agg_taxi_daily"]
    sql = model.render(lambda name: f"<{name}>", [date(2026, 11, 20), date(2026, 11, 18), date(2026, 11, 20)])
    assert "FROM <gold.fct_taxi_trips>" in sql
    assert "IN (DATE'2026-11-18', DATE'2026-11-20')" in sql
    assert "{{" not in sql


def test_the_transfer_aggregate_counts_parties_by_the_bytes_the_contract_admits():
    """agg_token_transfers_daily counts distinct parties as unhex(addresses): exact only while
    every version of the transfer contract admits 0x and 40 lowercase hex digits, nothing else."""
    definitions = Definitions.load(Settings())
    (model,) = [m for m in definitions.models if m.table == "gold.agg_token_transfers_daily"]
    assert "unhex(substr(from_address, 3))" in model.sql and "unhex(substr(to_address, 3))" in model.sql
    versions = [c for c in definitions.contracts.contracts if c.target_table == "silver.token_transfers"]
    assert versions
    for contract in versions:
        for column in ("from_address", "to_address"):
            assert contract.field(column).pattern == "^0x[0-9a-f]{40}$", (contract.id, column)


CHECKS = "checks: {expect: [{type: expect_table_row_count_to_be_between, min_value: 0, severity: warn}]}"


def write(tmp_path: Path, name: str, header: str, sql: str, checks: str = CHECKS) -> Path:
    path = tmp_path / name
    path.write_text(f"/* ---\n{header}\n{checks}\n--- */\n{sql}\n")
    return path


def test_a_model_without_checks_is_refused(tmp_path):
    path = write(tmp_path, "x.sql", "table: gold.x\nkeys: [a]\nrefresh: full\ndepends_on: []", "SELECT 1 AS a", "")
    with pytest.raises(ModelError, match=r"x\.sql: header needs 'checks'"):
        parse_model(path)


def test_an_undeclared_reference_is_named(tmp_path):
    path = write(
        tmp_path,
        "x.sql",
        "table: gold.x\nkeys: [a]\nrefresh: full\ndepends_on: []",
        "SELECT * FROM {{ silver.tokens }}",
    )
    with pytest.raises(ModelError, match=r"x.sql: uses \['silver.tokens'\] without declaring"):
        parse_model(path)


def test_a_by_date_model_must_filter_on_its_dates(tmp_path):
    path = write(
        tmp_path,
        "y.sql",
        "table: gold.y\nkeys: [a]\nrefresh: by_date\ndate_column: d\ndepends_on: [silver.tokens]",
        "SELECT * FROM {{ silver.tokens }}",
    )
    with pytest.raises(ModelError, match="must filter on"):
        parse_model(path)


def test_a_dependency_cycle_is_reported(tmp_path):
    write(
        tmp_path, "a.sql", "table: gold.a\nkeys: [k]\nrefresh: full\ndepends_on: [gold.b]", "SELECT * FROM {{ gold.b }}"
    )
    write(
        tmp_path, "b.sql", "table: gold.b\nkeys: [k]\nrefresh: full\ndepends_on: [gold.a]", "SELECT * FROM {{ gold.a }}"
    )
    with pytest.raises(ModelError, match="dependency cycle"):
        load_models(tmp_path)


def test_an_incremental_model_names_a_declared_source(tmp_path):
    header = "table: gold.f\nkeys: [k]\nrefresh: incremental\ndate_column: d\ndepends_on: [silver.tokens]"
    sql = "SELECT * FROM {{ silver.tokens }} WHERE d IN ({{ dates }})"
    with pytest.raises(ModelError, match="names its incremental_source"):
        parse_model(write(tmp_path, "f.sql", header, sql))
    model = parse_model(write(tmp_path, "f.sql", header + "\nincremental_source: silver.tokens", sql))
    assert model.by_dates and model.incremental_source == "silver.tokens"


def test_token_facts_are_a_view_and_the_token_aggregate_adds_up_silver_runs():
    refresh = {m.table: (m.refresh, m.incremental_source) for m in load_models()}
    assert refresh["gold.fct_token_transfers"] == ("view", None)
    assert refresh["gold.fct_taxi_trips"] == ("incremental", "silver.taxi_trips")
    assert refresh["gold.agg_token_transfers_daily"] == ("additive", "silver.token_transfers")
    assert refresh["gold.agg_taxi_daily"] == ("by_date", None)  # its ratios do not add up


VIEW = "table: gold.v\nkeys: [k]\nrefresh: view\ndepends_on: [silver.tokens]"


@pytest.mark.parametrize(
    ("extra", "sql", "refused"),
    [
        (CHECKS, "SELECT * FROM {{ silver.tokens }}", "no checks"),
        ("date_column: d", "SELECT * FROM {{ silver.tokens }}", "no date_column"),
        ("partition_by: [d]", "SELECT * FROM {{ silver.tokens }}", "no partition_by"),
        ("", "SELECT * FROM {{ silver.tokens }} WHERE d IN ({{ dates }})", "readers filter"),
    ],
)
def test_a_view_model_has_nothing_of_a_written_table(tmp_path, extra, sql, refused):
    with pytest.raises(ModelError, match=refused):
        parse_model(write(tmp_path, "v.sql", VIEW, sql, extra))
    view = parse_model(write(tmp_path, "v.sql", VIEW, "SELECT * FROM {{ silver.tokens }}", ""))
    assert view.is_view and not view.by_dates and view.checks == ()


def test_a_view_model_reads_no_seed_and_is_no_incremental_source(tmp_path):
    seeded = "table: gold.v\nkeys: [k]\nrefresh: view\ndepends_on: [seed.zones]"
    with pytest.raises(ModelError, match=r"no seed \(seed.zones\): Trino"):
        parse_model(write(tmp_path, "v.sql", seeded, "SELECT * FROM {{ seed.zones }}", ""))
    write(tmp_path, "v.sql", VIEW, "SELECT * FROM {{ silver.tokens }}", "")
    write(
        tmp_path,
        "f.sql",
        "table: gold.f\nkeys: [k]\nrefresh: incremental\nincremental_source: gold.v\ndate_column: d\n"
        "depends_on: [gold.v]",
        "SELECT * FROM {{ gold.v }} WHERE d IN ({{ dates }})",
    )
    with pytest.raises(ModelError, match=r"f\.sql: incremental_source gold\.v is a view"):
        load_models(tmp_path)


def test_a_reference_inside_a_line_comment_is_refused(tmp_path):
    header = "table: gold.x\nkeys: [a]\nrefresh: full\ndepends_on: [silver.tokens]"
    commented = "-- reads {{ silver.tokens }}\nSELECT * FROM {{ silver.tokens }}"
    with pytest.raises(ModelError, match=r"x\.sql: a -- comment holds a \{\{ \}\} reference"):
        parse_model(write(tmp_path, "x.sql", header, commented))
    assert parse_model(write(tmp_path, "x.sql", header, "-- reads silver.tokens\nSELECT * FROM {{ silver.tokens }}"))


def test_a_model_reads_a_view_model_as_its_sql_over_the_same_narrowed_references():
    settings = Settings.load({})
    definitions = Definitions.load(settings)
    (aggregate,) = [m for m in definitions.models if m.table == "gold.agg_token_transfers_daily"]
    no_session = cast(SparkSession, None)  # rendering reads no table
    references = References(no_session, settings, definitions).with_view("counted", "counted_transfers")
    narrowed = references.with_view("silver.token_transfers", "pending_transfers")
    sql = aggregate.render(narrowed, [date(2026, 10, 1)])
    facts = definitions.view_model("gold.fct_token_transfers")
    assert facts is not None and facts.render(narrowed, []) in sql
    assert "FROM pending_transfers t" in sql and "LEFT JOIN delta.`" in sql and "/gold/dim_token`" in sql
    assert "fct_token_transfers`" not in sql and "silver/token_transfers" not in sql and "{{" not in sql
    assert "gold.fct_token_transfers" not in definitions.gold_tables
    assert [m.table for m in definitions.gold_views] == ["gold.fct_token_transfers"]


def test_an_additive_model_says_how_its_measures_add_up(tmp_path):
    header = (
        "table: gold.a\nkeys: [d, k]\nrefresh: additive\ndate_column: d\nincremental_source: gold.f\n"
        "depends_on: [gold.f]"
    )
    sql = "SELECT d, k, count(*) AS n FROM {{ gold.f }} WHERE d IN ({{ dates }}) GROUP BY d, k"
    with pytest.raises(ModelError, match="says in 'adds' how each measure adds up"):
        parse_model(write(tmp_path, "a.sql", header, sql))
    with pytest.raises(ModelError, match="unknown measure 'avg'"):
        parse_model(write(tmp_path, "a.sql", header + "\nadds: {n: avg}", sql))
    model = parse_model(write(tmp_path, "a.sql", header + "\nadds: {n: sum}", sql))
    assert model.adds == (("n", "sum"),) and model.references == {"gold.f"}


def test_only_an_additive_model_reads_what_it_counted(tmp_path):
    header = "table: gold.a\nkeys: [d]\nrefresh: by_date\ndate_column: d\ndepends_on: [gold.f]"
    sql = "SELECT d FROM {{ gold.f }} WHERE d IN ({{ dates }}) EXCEPT SELECT d FROM {{ counted }}"
    with pytest.raises(ModelError, match="only an additive model reads"):
        parse_model(write(tmp_path, "a.sql", header, sql))


def test_downstream_follows_dependencies_through_models():
    models = load_models()
    assert downstream({"silver.taxi_trips"}, models) == ["gold.fct_taxi_trips", "gold.agg_taxi_daily"]
    assert downstream({"gold.fct_token_transfers"}, models) == ["gold.agg_token_transfers_daily"]
    assert downstream({"seed.taxi_zone_lookup"}, models) == [
        "gold.dim_taxi_zone",
        "gold.fct_taxi_trips",
        "gold.agg_taxi_daily",
    ]
    assert downstream(set(), models) == []
