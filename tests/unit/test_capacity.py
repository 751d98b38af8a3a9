"""The capacity model of `make capacity`: rates from a bench result, and what a volume needs."""

from datetime import date

import pytest

from bench.capacity import Assumptions, Throughput, TrinoLatency, fit_line, plan, throughput
from bench.trino_scratch import dashboard_query

BENCH = {
    "lines_read": 1_000_000,
    "machine": {"cores": 2},
    "stage_seconds": {"plan": 5.0, "validate": 20.0, "bronze": 3.0, "quarantine": 2.0, "silver.a": 9.0},
    "day31_stage_seconds": {
        "plan": 10.0,
        "validate": 30.0,  # history does not change validation: the first run's is used
        "bronze": 3.0,
        "quarantine": 2.0,
        "silver.a": 15.0,
        "silver.b": 10.0,
        "quality_silver": 8.0,
        "gold": 20.0,
        "quality_gold": 2.0,
        "ingested_files": 1.0,
    },
}
ASSUME = Assumptions(window_hours=1, efficiency=0.5, days_queried=30, query_seconds=10, retention_days=365)


def test_rates_are_events_per_second_per_core_of_their_stages():
    rates = throughput(BENCH)
    assert rates.validate == pytest.approx(1_000_000 / (25 * 2))
    assert rates.merge == pytest.approx(1_000_000 / (25 * 2))
    assert rates.gold == pytest.approx(1_000_000 / (20 * 2))
    assert rates.quality == pytest.approx(1_000_000 / (10 * 2))
    assert rates.fixed_seconds == 11.0


def test_a_line_is_fitted_through_points_on_it():
    intercept, slope = fit_line([(0.1, 0.7), (0.5, 1.5), (1.0, 2.5)])
    assert (intercept, slope) == (pytest.approx(0.5), pytest.approx(2.0))


def test_executors_grow_with_the_events_and_are_whole():
    rates = Throughput(validate=1000, merge=1000, gold=2000, quality=2000, fixed_seconds=0)
    latency = TrinoLatency(fixed_seconds=0.5, seconds_per_gb=2.0, node_cores=2)
    sizes = {"raw": 100.0, "silver": 50.0}
    small, large = (plan(n, rates, sizes, latency, ASSUME) for n in (3_600_000, 36_000_000))
    # 3.6M events x 3 ms of core time = 10,800 core-seconds; in 1 h at 50 %: 6 cores
    assert small["executor_cores"] == 6
    assert small["executors"] == 2
    assert large["executor_cores"] == 60
    # 36M x 50 B x 30 days = 54 GB of silver: 108 s on one 2-core node
    assert large["silver_gb_scanned"] == 54.0
    assert large["query_seconds_on_one_node"] == pytest.approx(108.5)
    # 216 core-seconds of scan in 9.5 s at 50 %: 46 cores, three 16-core workers
    assert large["trino_workers"] == 3
    assert large["stored_tb"] == pytest.approx(36_000_000 * 150 * 365 / 1e12, abs=0.01)


def test_the_dashboard_query_reads_every_column_of_its_days():
    sql = dashboard_query("delta.s.t", ["a", "b"], date(2026, 9, 1), date(2026, 9, 3))
    assert "approx_distinct(a), approx_distinct(b)" in sql
    assert "BETWEEN DATE '2026-09-01' AND DATE '2026-09-03'" in sql
