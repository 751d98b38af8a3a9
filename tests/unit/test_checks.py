"""Checks declared beside each table: parsed into suites, refused when missing or broken,
and built into a GE context with nothing lost."""

import shutil

import pytest
import yaml

from jobs.checks import ChecksError, parse_checks
from jobs.contracts import CONTRACTS_DIR, ContractError, load_contracts
from jobs.definitions import Definitions
from jobs.errors import LakehouseError
from jobs.models import load_models
from jobs.quality_context import EXPECTATIONS_DIR, build_context
from jobs.settings import Settings

EXPECT = [{"type": "expect_column_values_to_not_be_null", "column": "a", "severity": "warn"}]
UNIQUE = {"type": "expect_compound_columns_to_be_unique", "column_list": ["a", "b"], "severity": "error"}


def test_a_declaration_becomes_a_suite_and_a_volume_suite():
    suites = parse_checks(
        {
            "freshness": {"column": "t"},
            "references": [{"flag": "known", "column": "a", "table": "seed.s", "key": "k"}],
            "expect": [
                *EXPECT,
                {"type": "expect_compound_columns_to_be_unique", "column_list": ["a", "b"], "severity": "error"},
            ],
            "volume": {"previous_days": 5, "min_rows": 10, "ratio_between": [0.2, 4]},
        },
        "silver.x",
        "business_date",
        "x.yaml",
    )
    table, volume = suites
    assert (table.name, table.batch.rows, table.batch.date_column, table.engine) == (
        "silver.x",
        "touched_dates",
        "business_date",
        "pandas",
    )
    assert table.columns == ["a", "b"] and table.batch.references[0].flag == "known"
    assert [e.severity for e in table.expectations] == ["warn", "error"]
    assert (volume.name, volume.batch.rows, volume.batch.previous_days) == ("silver.x.volume", "daily_volume", 5)
    assert [dict(e.kwargs) for e in volume.expectations] == [
        {"column": "rows", "min_value": 10},
        {"column": "volume_ratio", "min_value": 0.2, "max_value": 4.0},
    ]


@pytest.mark.parametrize(
    "document, date_column, message",
    [
        ({"expect": []}, "d", "lists no expectation"),
        ({"expect": [{"type": "expect_column_values_to_not_be_null", "column": "a"}]}, "d", "needs a severity"),
        ({"expect": [{"type": "not_null", "severity": "warn"}]}, "d", "type expect_"),
        ({"expect": EXPECT, "rows": "touched_dates"}, None, "needs a table with a date column"),
        ({"expect": EXPECT, "volume": {}}, None, "volume: needs a table with a date column"),
        ({"expect": EXPECT, "engine": "duckdb"}, "d", "engine is one of"),
        ({"expect": EXPECT, "colour": "blue"}, "d", "unknown key(s) ['colour']"),
        ({"expect": EXPECT, "references": [{"flag": "f"}]}, "d", "a reference has exactly"),
    ],
)
def test_a_broken_declaration_is_refused_with_its_file_named(document, date_column, message):
    with pytest.raises(ChecksError) as error:
        parse_checks(document, "silver.x", date_column, "x.yaml")
    assert str(error.value).startswith("x.yaml: checks") and message in str(error.value)


def contracts_copy(tmp_path, change, name):
    directory = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, directory)
    path = directory / name
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))
    return directory


def test_a_table_whose_current_contract_declares_no_checks_is_an_error(tmp_path):
    directory = contracts_copy(tmp_path, lambda d: d.pop("checks"), "EthereumToken-1-0-0.yaml")
    with pytest.raises(ContractError, match=r"EthereumToken-1-0-0.yaml: silver.tokens declares no checks"):
        load_contracts(directory)


def test_checks_on_a_version_that_upcasts_are_refused(tmp_path):
    directory = contracts_copy(
        tmp_path, lambda d: d.update(checks={"expect": EXPECT}), "YellowTaxiTripRecords-1-0-0.yaml"
    )
    with pytest.raises(ContractError, match=r"1-0-0.yaml: checks belong to the current version"):
        load_contracts(directory)


def test_every_table_has_suites_and_the_context_holds_each_declared_expectation(tmp_path):
    suites = Definitions.load(Settings.load({})).suites
    registry = load_contracts()
    assert {s.batch.table for s in suites} == {
        *registry.target_tables,
        *(m.table for m in load_models() if not m.is_view),
    }
    root = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    context = build_context(root, suites)
    assert sorted(c.name for c in context.checkpoints.all()) == sorted(s.name for s in suites)
    for suite in suites:
        built = context.suites.get(suite.name)
        assert [(e.expectation_type, e.severity.value) for e in built.expectations] == [
            (e.type, {"error": "critical", "warn": "warning"}[e.severity]) for e in suite.expectations
        ], suite.name
        (definition,) = context.checkpoints.get(suite.name).validation_definitions
        assert definition.data.data_asset.datasource.name == ("lake_spark" if suite.engine == "spark" else "lake")
        # a Spark suite's big batch: counts, but no second pass for example values
        result_format = context.checkpoints.get(suite.name).result_format
        if suite.engine == "spark":
            assert result_format == {"result_format": "BASIC", "partial_unexpected_count": 0}, suite.name
        else:
            assert result_format == {"result_format": "SUMMARY"}, suite.name
    assert {s.engine for s in suites} == {"spark", "pandas"}  # both kinds are declared and checked above


def test_an_expectation_ge_does_not_know_names_its_file(tmp_path):
    (suite,) = parse_checks(
        {"expect": [{"type": "expect_column_to_be_purple", "column": "a", "severity": "warn"}]}, "gold.x", None, "x.sql"
    )
    root = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    with pytest.raises(LakehouseError, match=r"x\.sql: checks of gold\.x"):
        build_context(root, [suite])
