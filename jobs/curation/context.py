"""The state of one run as it goes: its stages with their seconds, counts and versions."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from jobs.contract_model import ContractRegistry
from jobs.curation.faults import FaultInjection
from jobs.curation.lock import PipelineLock
from jobs.curation.plan import RunWindow
from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.quality import QualityGate
from jobs.settings import Settings
from jobs.spark import build_spark_session

log = logging.getLogger("curate")


@dataclass
class RunContext:
    settings: Settings
    definitions: Definitions
    spark: SparkSession
    run_id: str
    kind: str
    window: RunWindow | None
    faults: FaultInjection = field(default_factory=FaultInjection)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    stage_seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    versions_before: dict[str, int] = field(default_factory=dict)
    versions_after: dict[str, int] = field(default_factory=dict)
    business_dates: set = field(default_factory=set)
    dates_by_table: dict[str, set] = field(default_factory=dict)
    files: int = 0
    files_outside_layout: list[str] = field(default_factory=list)
    gate: QualityGate | None = None
    quality_failures: list[str] = field(default_factory=list)
    held_back: set[str] = field(default_factory=set)  # failed a gate, or downstream of one: not built
    data_docs: str | None = None
    reprocess: bool = False  # run even if the window's input and definitions are unchanged
    input_fingerprint: str | None = None
    unchanged_since: str | None = None
    earlier_runs: list | None = None  # the ledger's rows of other runs, once read (jobs/curation/ledger.py)

    @contextmanager
    def stage(self, name: str):
        started = time.monotonic()
        with self.faults.during(name):
            yield
        self.stage_seconds[name] = round(time.monotonic() - started, 3)
        log.info("stage %-24s %7.1f s", name, self.stage_seconds[name])
        self.faults.after(name)

    @property
    def registry(self) -> ContractRegistry:
        return self.definitions.contracts

    def path(self, table: str) -> str:
        return path_of(self.settings, table)


@contextmanager
def exclusive(
    settings: Settings,
    definitions: Definitions,
    run_id: str,
    kind: str,
    app_name: str,
    window: RunWindow | None = None,
    **state,
) -> Iterator[RunContext]:
    """A run, replay, rollback or maintenance: the warehouse's lock held by `run_id` for
    as long as it lasts, a Spark session, and its context (`state`: more of its fields)."""
    with PipelineLock(
        settings, run_id, wait_seconds=settings.lock_wait_seconds, lease_seconds=settings.lock_lease_seconds
    ):
        spark = build_spark_session(settings, app_name)
        yield RunContext(settings, definitions, spark, run_id, kind, window, **state)
