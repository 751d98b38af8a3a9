"""The DuckDB baseline of `make bench` does the work of our validation pass: compiled from
the same contracts, it quarantines exactly the lines the generator broke, each with the
reason it injected, and keeps one row per business key."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.duckdb_same_work import run, strptime_format
from generator.defects import DefectRates
from generator.generate import GeneratorConfig, generate_day
from generator.sinks import LocalDirectory
from jobs.contracts import load_contracts
from jobs.sql_literals import sql_string

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("out")
    generate_day(
        GeneratorConfig(day=DAY, events=20_000, seed=11, rates=DefectRates().scaled(5)), LocalDirectory(raw), workers=2
    )
    files = [str(p) for p in sorted(raw.glob("event_date=*/hour=*/*.jsonl.gz"))]
    _seconds, counts = run(files, load_contracts(), out)
    return raw, out, counts


def parquet(out: Path, name: str, select: str) -> list[tuple]:
    """`select` over the rows of one of the baseline's Parquet files."""
    return duckdb.execute(f"{select} FROM read_parquet({sql_string(str(out / f'{name}.parquet'))})").fetchall()


def test_every_injected_violation_is_quarantined_with_its_reason_and_nothing_else(baseline):
    raw, out, counts = baseline
    truth = {}
    with gzip.open(raw / f"_truth/event_date={DAY}/quarantine.tsv.gz", "rt") as rows:
        for row in rows:
            file, line_number, category, reason = row.rstrip("\n").split("\t")
            truth[(file, int(line_number))] = (category, reason)
    assert len({category for category, _ in truth.values()}) == 12  # every kind of bad line

    quarantined = {
        (source_file.split(f"{raw}/", 1)[-1], line_number): list(reasons)
        for source_file, line_number, reasons in parquet(out, "quarantine", "SELECT source_file, line_number, reasons")
    }
    assert {k: r for k, r in quarantined.items() if k not in truth} == {}
    assert {k: (truth[k], quarantined.get(k)) for k in truth if quarantined.get(k) != [truth[k][1]]} == {}
    assert counts["lines_read"] == counts["valid"] + counts["quarantine"]


def test_silver_holds_one_row_per_business_key(baseline):
    _raw, out, counts = baseline
    registry = load_contracts()
    for table, event_type in registry.target_tables.items():
        key = ", ".join(f'"{k}"' for k in registry.current(event_type).business_key)
        rows, keys = parquet(out, table, f"SELECT count(*), count(DISTINCT ({key}))")[0]
        assert rows == keys == counts[table] > 0
    assert sum(counts[t] for t in registry.target_tables) < counts["valid"]  # the generator sends duplicates


def test_spark_datetime_patterns_become_strptime_formats():
    assert strptime_format("yyyy-MM-dd HH:mm:ss Z") == "%Y-%m-%d %H:%M:%S %z"
    assert strptime_format("yyyy-MM-dd HH:mm:ss 'UTC'") == "%Y-%m-%d %H:%M:%S UTC"
    with pytest.raises(ValueError, match="'EEE'"):
        strptime_format("EEE, dd MMM yyyy")
