"""The bench's report: the maintenance figures (which tables a dashboard reads by day) and the scaling row."""

from __future__ import annotations

from bench import room
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


def test_the_bench_counts_what_it_writes_and_stops_when_the_disk_cannot_take_it(tmp_path):
    # At its fullest: (a) and (g) are deleted before (c) and (f) (maintain compacts the history)
    built = room.bench_writes(1_000, 4, 30_000, history_built=True, in_place=True, raw_missing_events=0)
    assert built.curated == 1_000 + 12_600 + 1_000  # day 31, maintain's rewrite, naive Spark
    larger = room.bench_writes(1_000, 40, 30_000, history_built=True, in_place=True, raw_missing_events=0)
    assert larger.curated == 1_000 + 40_000  # the first run and the 40x day
    fresh = room.bench_writes(1_000, 4, 30_000, history_built=False, in_place=False, raw_missing_events=5_000)
    assert fresh.curated == 30_000 + 30_000 + 14_600 and fresh.generated == 5_000  # built, then copied
    assert fresh.bytes > built.bytes > room.MARGIN_BYTES

    assert room.shortage(2**20, tmp_path) is None
    trash = tmp_path / room.MINIO_TRASH
    trash.mkdir(parents=True)
    (trash / "deleted-object").write_bytes(b"x" * 3 * 2**20)
    assert room.trash_bytes(tmp_path) == 3 * 2**20 and room.trash_bytes(tmp_path / "elsewhere") == 0
    problem = room.shortage(2**62, tmp_path)
    assert problem is not None and "deleted objects in .minio.sys/tmp/.trash" in problem and "GiB are free" in problem
    assert room.shortage(2**62, tmp_path / "not-this-machine") is None
