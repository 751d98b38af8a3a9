"""Quality gates: Great Expectations checks of whole batches and tables.

Row-level rules live in the contracts and run in one Spark pass (jobs/validation.py).
Here, GE checks what only shows at batch or table level: business-key uniqueness,
daily volume against the previous days, null rates, distributions, freshness and
referential integrity.

The checks are declared beside each table's definition (jobs/checks.py: a silver
table's current contract, a gold model's header). Each run builds its own GE context
from them (jobs/quality_context.py): a checkpoint per table. A suite's batch says
which rows it is checked against; `batch_for` builds that DataFrame. `error` expectations run with GE's
severity `critical` and hold their table back; `warn` ones (`warning`) are recorded.

    gate = QualityGate.open(spark, settings)
    outcomes = gate.check("silver", touched_dates, window, dates_by_table, curated_dates)
    failures(outcomes)                                  # the error expectations that failed
    rows = result_rows(run_id, window, gate.outcomes)   # -> ops.quality_results (jobs/quality_results.py)
"""

from __future__ import annotations

import functools
import logging
import operator
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    StructField,
    StructType,
)

from jobs.checks import BatchSpec, Suite
from jobs.curation.tables import LINEAGE
from jobs.definitions import Definitions
from jobs.errors import LakehouseError
from jobs.quality_context import build_context, expectations_root, local_site_index
from jobs.quality_results import Outcome
from jobs.settings import Settings

if TYPE_CHECKING:  # GE takes seconds to import: only when it is needed (see jobs/quality_context.py)
    from great_expectations.data_context import FileDataContext

log = logging.getLogger("quality")

VOLUME_SCHEMA = StructType(
    [
        StructField("business_date", DateType(), False),
        StructField("rows", LongType(), False),
        StructField("previous_days", LongType(), False),
        StructField("baseline_rows", DoubleType()),
        StructField("volume_ratio", DoubleType()),
    ]
)


class QualityGateError(LakehouseError):
    """Expectations of severity error failed: the tables they check and every model
    downstream of them were held back; the run's other tables went on."""

    def __init__(self, held_back: list[str], failed: list[str]):
        self.held_back = held_back
        self.failed = failed
        super().__init__(
            f"quality gate: {len(failed)} error expectation(s) failed, held back {', '.join(held_back)}: "
            + "; ".join(failed)
        )


def daily_volumes(
    rows_by_date: dict[date, int], dates: list[date], curated: Set[date], previous_days: int, min_previous_days: int
) -> list[tuple]:
    """Each date's rows against the median of the previous days that earlier runs curated.

    Only curated days count as history: a date before the first run holds only the
    late events of later days. The ratio is None while there is too little history."""
    volumes = []
    for day in sorted(set(dates)):
        previous = [
            rows_by_date.get(d, 0)
            for d in (day - timedelta(days=i) for i in range(1, previous_days + 1))
            if d in curated
        ]
        baseline = float(statistics.median(previous)) if len(previous) >= min_previous_days else None
        rows = rows_by_date.get(day, 0)
        volumes.append((day, rows, len(previous), baseline, rows / baseline if baseline else None))
    return volumes


def unsettled_beyond(
    table: DataFrame, date_column: str, key: Sequence[str], window_dates: Sequence[date], settled_runs: Set[str]
) -> DataFrame:
    """A silver gate's rows: those on the window's own dates, whole; on the earlier dates
    the window's late events touched, the rows of runs not settled (this one, one killed
    or held back) and every row sharing a business key with one of them.

    A run's late rows are about 1 % of a day but land on several earlier dates: checking
    those dates whole cost more than the window itself. What a gate passed before is not
    checked again, a row no gate passed is (a killed run's among them), and each key
    checked is checked for uniqueness against the whole table on its date."""
    on_window = F.col(date_column).isin(list(window_dates))
    beyond = table.where(~on_window)
    keys = [f"__key_{i}" for i in range(len(key))]
    unsettled = beyond.where(~F.col(LINEAGE).isin(sorted(settled_runs))).select(
        *(F.col(column).alias(alias) for column, alias in zip(key, keys, strict=True))
    )
    shares_key = functools.reduce(
        operator.and_, (beyond[column].eqNullSafe(unsettled[alias]) for column, alias in zip(key, keys, strict=True))
    )
    return table.where(on_window).unionByName(beyond.join(unsettled, shares_key, "left_semi"))


def window_end_instant(window_end: date, tz: str):
    return F.to_utc_timestamp(F.lit(datetime.combine(window_end, datetime.min.time())), tz)


# -- the gate --------------------------------------------------------------------------------


@dataclass
class QualityGate:
    spark: SparkSession
    settings: Settings
    definitions: Definitions
    context: FileDataContext
    suites: dict[str, Suite]
    workdir: tempfile.TemporaryDirectory[str]
    outcomes: list[Outcome] = field(default_factory=list)
    seeds: dict[str, DataFrame] = field(default_factory=dict)  # read once: a CSV header costs a Spark job

    @classmethod
    def open(cls, spark: SparkSession, settings: Settings, definitions: Definitions) -> QualityGate:
        """Build the run's context in a private directory: GE writes its results and Data
        Docs inside the context, and runs at the same time (a backfill's days, two DAGs)
        must not share them, nor write into a read-only install (the jobs image)."""
        suites = definitions.suites
        root = expectations_root(settings)
        if not (root / "great_expectations.yml").is_file():
            raise LakehouseError(f"no Great Expectations project at {root} (great_expectations.yml missing)")
        workdir = tempfile.TemporaryDirectory(prefix="lakehouse-gx-")
        copy = Path(workdir.name) / "expectations"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("uncommitted"))
        context = build_context(copy, suites)
        return cls(spark, settings, definitions, context, {suite.name: suite for suite in suites}, workdir)

    def close(self) -> None:
        """Delete the run's copy of the context (its Data Docs must be published first)."""
        self.workdir.cleanup()

    def check(
        self,
        layer: str,
        dates: set[date],
        window,
        dates_by_table: dict[str, set[date]] | None = None,
        curated: Set[date] = frozenset(),
        only: set[str] | None = None,
        settled_runs: Set[str] | None = None,
    ) -> list[Outcome]:
        """Run the checkpoints of one layer, in name order; returns (and keeps) their results.

        `dates`: the business dates the run touched; `dates_by_table` narrows them per
        table; `curated`: the dates earlier runs covered (the history volumes compare with);
        `only`: the tables to check (those the run changed), all of the layer if None;
        `settled_runs`: the runs whose rows a gate has passed (see `unsettled_beyond`); if
        None, a table with a business key is checked on the whole dates."""
        outcomes = []
        chosen = [s for s in self.suites.values() if s.batch.layer == layer and (only is None or s.batch.table in only)]
        for suite in sorted(chosen, key=lambda s: s.name):
            started = time.monotonic()
            name, spec = suite.name, suite.batch
            checkpoint = self.context.checkpoints.get(name)
            table_dates = set((dates_by_table or {}).get(spec.table, dates))
            if spec.rows == "daily_volume" and window is not None:
                table_dates = set(window.dates)  # the days this run answers for (late-only dates are history)
            batch = self.batch_for(spec, sorted(table_dates), window, suite.columns, curated, settled_runs)
            if suite.engine == "pandas":
                result = checkpoint.run(batch_parameters={"dataframe": batch.toPandas()})
            else:  # read once, then scanned by each expectation
                batch = batch.persist(StorageLevel.MEMORY_AND_DISK)
                try:
                    result = checkpoint.run(batch_parameters={"dataframe": batch})
                finally:
                    batch.unpersist()
            for suite_result in result.run_results.values():
                outcome = Outcome(layer, name, spec.table, suite_result, round(time.monotonic() - started, 3))
                outcomes.append(outcome)
                log.info(
                    "%-34s %s in %.1f s (%d expectations, %d failed)",
                    name,
                    "passed" if suite_result.success else "FAILED",
                    outcome.seconds,
                    len(suite_result.results),
                    sum(not r.success for r in suite_result.results),
                )
        self.outcomes += outcomes
        return outcomes

    # -- batches ---------------------------------------------------------------------------
    def read(self, table: str) -> DataFrame | None:
        schema, name = table.split(".")
        if schema == "seed":
            if name not in self.seeds:
                self.seeds[name] = self.spark.read.option("header", "true").csv(
                    self.definitions.seed(name).resolve().as_uri()
                )
            return self.seeds[name]
        try:
            return self.spark.read.format("delta").load(self.settings.table_path(schema, name))
        except AnalysisException:  # not a Delta table (yet)
            return None

    def batch_for(
        self,
        spec: BatchSpec,
        dates: list[date],
        window,
        columns: list[str],
        curated: Set[date] = frozenset(),
        settled_runs: Set[str] | None = None,
    ) -> DataFrame:
        table = self.read(spec.table)
        if table is None:
            raise LakehouseError(f"quality gate: table {spec.table} does not exist")
        if spec.rows == "daily_volume":
            return self.volume_batch(table, spec, dates, curated)
        if spec.rows == "touched_dates":
            assert spec.date_column is not None  # from_meta requires it unless rows is all
            table = table.where(F.col(spec.date_column).isin(dates)) if dates else table.limit(0)
            if spec.key and window is not None and settled_runs is not None:
                table = unsettled_beyond(table, spec.date_column, spec.key, window.dates, settled_runs)
        # A run measures freshness against its window's end; a replay, which has no window,
        # against the end of the latest date it touched (the same for a one-day run).
        end = window.end if window is not None else (max(dates) + timedelta(days=1) if dates else None)
        if spec.freshness and end is not None:
            newest = window_end_instant(end, spec.freshness.get("timezone", "UTC"))
            hours = (F.unix_timestamp(newest) - F.unix_timestamp(F.col(spec.freshness["column"]))) / 3600.0
            table = table.withColumn("hours_before_window_end", hours)
        elif spec.freshness:  # nothing touched: an empty batch, the column typed
            table = table.withColumn("hours_before_window_end", F.lit(None).cast("double"))
        for ref in spec.references:
            known = self.read(ref.table)
            keys = (
                known.select(F.col(ref.key).cast(table.schema[ref.column].dataType).alias("__key")).distinct()
                if known is not None
                else self.spark.createDataFrame([], f"__key {table.schema[ref.column].dataType.simpleString()}")
            )
            table = (
                table.join(F.broadcast(keys), table[ref.column] == keys["__key"], "left")
                .withColumn(ref.flag, F.col("__key").isNotNull())
                .drop("__key")
            )
        return table.select(*columns) if columns else table

    def volume_batch(self, table: DataFrame, spec: BatchSpec, dates: list[date], curated: Set[date]) -> DataFrame:
        if not dates:
            return self.spark.createDataFrame([], VOLUME_SCHEMA)
        assert spec.date_column is not None  # from_meta requires it unless rows is all
        first = min(dates) - timedelta(days=spec.previous_days)
        counts = (
            table.where(F.col(spec.date_column).between(first, max(dates))).groupBy(spec.date_column).count().collect()
        )
        volumes = daily_volumes(
            {r[0]: r[1] for r in counts}, dates, curated, spec.previous_days, spec.min_previous_days
        )
        return self.spark.createDataFrame(volumes, VOLUME_SCHEMA)

    # -- reporting -------------------------------------------------------------------------
    def build_docs(self) -> Path:
        """Render this run's Data Docs site in the run's copy of the context; returns its index page."""
        self.context.build_data_docs()
        return local_site_index(Path(self.context.root_directory))
