"""Readers during writes: while a run commits to the served warehouse, analysts query it
through Trino, 4 at a time. No query errors, and every answer is the answer of some
committed version of the table (Delta commits are atomic: never a half-written state;
counts only go up within a run). Query latency during the run is reported."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from generator.generate import GeneratorConfig, generate_day
from generator.sinks import ObjectStoreBucket
from jobs.curation.tables import path_of
from jobs.trino_catalog import query, trino_connection
from tests.conftest import ROOT
from tests.integration.lakehelpers import RATES

pytestmark = pytest.mark.integration
# Two analysts, a query every two seconds each: dozens of reads per table during a run
# (172 queries in a run alone). Four readers every half second sent thousands, on the two
# cores every other test needs: Trino used 21 CPU-minutes in one 75-minute make test.
READERS = 2
PAUSE_SECONDS = 2.0
QUERIES = {
    "gold.fct_taxi_trips": "SELECT count(*) FROM gold.fct_taxi_trips",
    "gold.agg_token_transfers_daily": "SELECT coalesce(sum(transfers), 0) FROM serving.token_transfers_daily",
}


@dataclass
class Answer:
    table: str
    started: float
    seconds: float
    value: int | None = None
    error: str | None = None

    @property
    def answer(self) -> int:
        """The value of a read that did not fail."""
        assert self.value is not None, self.error
        return self.value


def version_answers(spark, settings, table: str, first: int) -> set[int]:
    """The answer of each committed version of `table` from `first` on (what a reader may see)."""
    path = path_of(settings, table)
    last = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first().version
    answers = set()
    for version in range(first, last + 1):
        frame = spark.read.format("delta").option("versionAsOf", version).load(path)
        answers.add(frame.count() if table.startswith("gold.fct") else frame.agg({"transfers": "sum"}).first()[0] or 0)
    return answers


def current_version(spark, settings, table: str) -> int:
    return spark.sql(f"DESCRIBE HISTORY delta.`{path_of(settings, table)}` LIMIT 1").first().version


def test_analysts_reading_while_a_run_commits_see_only_committed_versions(spark, settings, served_days):
    """served_days: the served lake has its tables before the readers start."""
    day = date(2022, 1, 1) + timedelta(days=random.randrange(365))
    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, "")
    generate_day(GeneratorConfig(day=day, events=2_000, seed=day.toordinal(), rates=RATES), sink, workers=2)
    lakehouse = [str(ROOT / ".venv/bin/lakehouse"), "run"]
    before = {table: current_version(spark, settings, table) for table in QUERIES}

    answers: list[Answer] = []
    done = threading.Event()

    def read_until_done(number: int) -> None:
        connection = trino_connection(settings, as_analyst=True)
        names = list(QUERIES)
        turn = number
        while not done.is_set():
            table = names[turn % len(names)]
            turn += 1
            started = time.monotonic()
            try:
                ((value,),) = query(connection, QUERIES[table])
                answers.append(Answer(table, started, time.monotonic() - started, value=int(value)))
            except Exception as exc:  # any error is a finding: kept, asserted below
                answers.append(Answer(table, started, time.monotonic() - started, error=repr(exc)[:300]))
            done.wait(PAUSE_SECONDS)  # analysts, not a load test: the run must not starve on 2 cores

    readers = [threading.Thread(target=read_until_done, args=(n,)) for n in range(READERS)]
    for reader in readers:
        reader.start()
    try:
        result = subprocess.run(
            [*lakehouse, "--date", str(day)],
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert result.returncode == 0, result.stderr[-3000:]

    assert [a for a in answers if a.error] == []
    for table in QUERIES:
        seen = [a for a in sorted(answers, key=lambda a: a.started) if a.table == table]
        assert len(seen) >= 5, f"{table}: too few reads during the run to show anything"
        allowed = version_answers(spark, settings, table, before[table])
        assert {a.value for a in seen} <= allowed, table
        values = [a.answer for a in seen]
        assert values[-1] > values[0] or len(allowed) == 1, f"{table}: the run was not seen committing"
        # a query that started after another ended never sees an older version (counts only go up)
        older = [
            (a.value, b.value) for a in seen for b in seen if a.started + a.seconds < b.started and b.answer < a.answer
        ]
        assert older == [], f"{table}: a later query saw fewer rows than an earlier one"

    latencies = sorted(a.seconds for a in answers)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(
        f"\n{len(answers)} analyst queries by {READERS} readers during the run: "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
