"""The bench's maintenance figures: which tables a dashboard reads by day, and the report's table."""

from __future__ import annotations

from bench.maintenance import dated_tables
from bench.report import maintenance_lines
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
