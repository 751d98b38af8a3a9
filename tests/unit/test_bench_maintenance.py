"""The bench's report: the maintenance figures (which tables a dashboard reads by day) and the scaling row."""

from __future__ import annotations

from bench.maintenance import dated_tables
from bench.report import maintenance_lines, scaling_lines
from jobs.definitions import Definitions
from jobs.settings import Settings


def test_every_silver_table_and_every_dated_gold_model_can_be_queried_by_day():
    definitions = Definitions.load(Settings.load())
    dated = dated_tables(definitions)
    assert set(definitions.contracts.target_tables) <= set(dated)
    assert {m.table for m in definitions.models if m.date_column} <= set(dated)
    assert {m.table for m in definitions.models if not m.date_column}.isdisjoint(dated)
    assert all(column for column in dated.values())


def test_the_report_gives_files_and_latency_before_and_after():
    figures = {
        "days": ["2026-09-26", "2026-10-01"],
        "files": {"silver.a": [120, 6], "gold.b": [40, 6]},
        "queries": {
            "silver.a": {"before": {"seconds": 2.5, "gb": 0.3}, "after": {"seconds": 1.25, "gb": 0.25}},
        },
    }
    text = "\n".join(maintenance_lines(figures))
    assert "| silver.a | 120 | 6 |" in text and "| gold.b | 40 | 6 |" in text
    assert "| silver.a | 2.50 | 1.25 | 0.300 | 0.250 |" in text


def test_the_scaling_row_gives_its_figures_or_why_it_failed():
    measured = {"factor": 4, "events": 5_200_000, "seconds": 260.0, "peak_rss_bytes": 3 * 2**30}
    (row,) = scaling_lines({"scaling": measured, "ratios": {"scaled/first": 2.1}})
    assert "| 260.0 | 20,000 |" in row and "scaled/first = 2.1" in row and "3.00 GiB" in row
    failed = {"factor": 4, "events": 5_200_000, "failed": "bench: `lakehouse run` failed (exit 1)"}
    (row,) = scaling_lines({"scaling": failed, "ratios": {"scaled/first": None}})
    assert "| failed |" in row and "exit 1" in row
    assert scaling_lines({"scaling": None}) == []
