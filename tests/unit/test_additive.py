"""An additive gold model: how its measures add up (in Spark SQL) and which dates take in
what (pure)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from jobs.gold import LARGE_SHARE, MAX_ADDED_ROWS, Additions, plan_additions
from jobs.measures import added, uint256_sum
from jobs.sql_literals import sql_string

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def test_uint256_sums_add_exactly_whatever_their_length(spark):
    chance = random.Random(3)
    pairs = [("0", "0"), ("1", str(10**26 - 1)), (str(10**52 - 1), "1"), (str(2**256 - 1), str(2**256 - 1))]
    pairs += [(str(chance.getrandbits(bits)), str(chance.getrandbits(256))) for bits in (1, 64, 200, 256, 290)]
    pairs += [(str(10**88 + 7), str(10**87 - 1))]  # sums of many uint256 grow past 78 digits
    sums = [f"{uint256_sum(sql_string(a), sql_string(b))} AS s{i}" for i, (a, b) in enumerate(pairs)]
    row = spark.sql(f"SELECT {', '.join(sums)}").first()
    assert list(row) == [str(int(a) + int(b)) for a, b in pairs]
    assert spark.sql(f"SELECT {uint256_sum('NULL', sql_string('5'))} AS s").first().s is None


def test_measures_add_the_sources_contribution_to_the_targets():
    assert added("transfers", "sum") == "t.`transfers` + s.`transfers`"
    assert added("symbol", "max") == "greatest(t.`symbol`, s.`symbol`)"
    assert added("first_seen", "min") == "least(t.`first_seen`, s.`first_seen`)"


def test_a_date_seen_first_is_computed_whole_and_late_runs_are_added_alone():
    rows = {(D1, "r1"): 1000, (D1, "r2"): 10, (D2, "r2"): 900}
    plan = plan_additions(rows, {D1: {"r1"}}, [D1, D2])
    assert plan == Additions(whole={D2: ["r2"]}, added={D1: ["r2"]})


def test_a_date_with_nothing_new_is_left_alone():
    rows = {(D1, "r1"): 1000, (D1, "r2"): 10}
    assert plan_additions(rows, {D1: {"r1", "r2"}}, [D1, D2, D3]) == Additions({}, {})


def test_a_date_whose_counted_runs_left_the_source_is_computed_whole():
    """A replay rewrote the date, or removed every row of it: the date's rows are replaced."""
    replayed = plan_additions({(D1, "r9"): 1000}, {D1: {"r1", "r2"}, D2: {"r2"}}, [D1, D2])
    assert replayed == Additions(whole={D1: ["r9"], D2: []}, added={})


def test_rows_from_before_runs_were_counted_are_computed_whole():
    rows = {(D1, "r1"): 1000}
    assert plan_additions(rows, {D1: {None}}, [D1]) == Additions(whole={D1: ["r1"]}, added={})


@pytest.mark.parametrize("new_rows, whole", [(999, False), (1001, True)])
def test_a_date_mostly_new_is_computed_whole(new_rows, whole):
    assert LARGE_SHARE == 0.5
    plan = plan_additions({(D1, "r1"): 1000, (D1, "r2"): new_rows}, {D1: {"r1"}}, [D1])
    assert plan == (Additions({D1: ["r1", "r2"]}, {}) if whole else Additions({}, {D1: ["r2"]}))


@pytest.mark.parametrize("new_rows, whole", [(MAX_ADDED_ROWS, False), (MAX_ADDED_ROWS + 1, True)])
def test_a_date_with_more_new_rows_than_a_broadcast_holds_is_computed_whole(new_rows, whole):
    plan = plan_additions({(D1, "r1"): 100 * MAX_ADDED_ROWS, (D1, "r2"): new_rows}, {D1: {"r1"}}, [D1])
    assert plan == (Additions({D1: ["r1", "r2"]}, {}) if whole else Additions({}, {D1: ["r2"]}))
