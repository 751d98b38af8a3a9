"""Daily volume against history (no Spark needed), and which rows a silver gate checks."""

from datetime import date, timedelta

import pytest

from jobs.quality import daily_volumes, unsettled_beyond

D = date(2030, 1, 10)


def days_before(n):
    return D - timedelta(days=n)


def test_volume_is_judged_against_the_median_of_curated_previous_days():
    rows = {days_before(3): 1000, days_before(2): 1200, days_before(1): 900, D: 100}
    curated = {days_before(3), days_before(2), days_before(1)}
    [(day, count, previous, baseline, ratio)] = daily_volumes(rows, [D], curated, 7, 3)
    assert (day, count, previous, baseline) == (D, 100, 3, 1000.0)
    assert ratio == pytest.approx(0.1)


def test_dates_no_run_covered_are_not_history():
    # late events of the first day: a few rows on earlier dates no run has curated
    rows = {days_before(2): 4, days_before(1): 6, D: 5000}
    [(_, _, previous, baseline, ratio)] = daily_volumes(rows, [D], set(), 7, 3)
    assert (previous, baseline, ratio) == (0, None, None)


def test_a_curated_day_without_rows_counts_as_zero_and_a_missing_day_as_a_drop():
    curated = {days_before(i) for i in range(1, 4)}
    rows = {days_before(3): 100, days_before(2): 0, days_before(1): 100}
    [(_, count, previous, baseline, ratio)] = daily_volumes(rows, [D], curated, 7, 3)
    assert (count, previous, baseline, ratio) == (0, 3, 100.0, 0.0)


def test_beyond_the_window_only_unsettled_rows_are_checked_with_every_row_sharing_their_key(spark):
    window_day, earlier = date(2026, 9, 3), date(2026, 9, 1)
    rows = spark.createDataFrame(
        [
            ("w1", 0, window_day, "settled"),  # the window's own date: checked whole
            ("w2", 0, window_day, "this"),
            ("a", 0, earlier, "settled"),  # passed by an earlier gate, nothing new beside it
            ("b", 0, earlier, "settled"),  # passed, but a row of this run shares its key
            ("b", 0, earlier, "this"),
            ("b", 1, earlier, "settled"),  # the same hash, another log index: another key
            ("c", 0, earlier, "killed"),  # a run that never settled: checked again
            (None, 0, earlier, "settled"),  # a null in the key shares it with another null
            (None, 0, earlier, "this"),
        ],
        "transaction_hash string, log_index int, business_date date, run_id string",
    )
    checked = unsettled_beyond(rows, "business_date", ["transaction_hash", "log_index"], [window_day], {"settled"})
    assert sorted(checked.collect(), key=str) == sorted(
        [r for r in rows.collect() if r.transaction_hash in ("w1", "w2", "c", None) or r[:2] == ("b", 0)], key=str
    )
    everything = unsettled_beyond(rows, "business_date", ["transaction_hash", "log_index"], [window_day], set())
    assert everything.count() == rows.count()
