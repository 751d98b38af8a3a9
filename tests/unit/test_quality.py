"""Daily volume against history: no Spark needed."""

from datetime import date, timedelta

import pytest

from jobs.quality import daily_volumes

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
