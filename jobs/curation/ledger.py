"""The run ledger, ops.pipeline_runs: one row when a run starts and one when it ends,
and what later runs read back from it."""

from __future__ import annotations

import resource
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.curation import lake
from jobs.curation.context import RunContext
from jobs.curation.plan import RunWindow, repeatable_run
from jobs.curation.tables import LEDGER

LEDGER_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("kind", StringType(), False),  # run | replay | rollback | maintain
        StructField("window_start", DateType()),
        StructField("window_end", DateType()),
        StructField("status", StringType(), False),  # running | succeeded | failed | rolled_back
        StructField("started_at", TimestampType(), False),
        StructField("finished_at", TimestampType()),
        StructField("seconds", DoubleType()),
        StructField("stage_seconds", MapType(StringType(), DoubleType())),
        StructField("counts", MapType(StringType(), LongType())),
        StructField("records_per_second", DoubleType()),
        StructField("peak_rss_bytes", LongType()),
        StructField("files", LongType()),
        StructField("versions_before", MapType(StringType(), LongType())),
        StructField("versions_after", MapType(StringType(), LongType())),
        StructField("error", StringType()),
        StructField("business_dates", ArrayType(DateType())),
        StructField("quality_failures", ArrayType(StringType())),  # error expectations that stopped the run
        StructField("data_docs", StringType()),  # this run's Data Docs site in the lake
        StructField("input_fingerprint", StringType()),  # files read + definitions applied (plan.input_fingerprint)
        StructField("unchanged_since", StringType()),  # a skipped rerun: the run whose result stands
        StructField("files_outside_layout", ArrayType(StringType())),  # skipped, not read (plan.outside_layout)
        StructField("held_back", ArrayType(StringType())),  # failed a quality gate, or downstream of one
        StructField("object_store_endpoint", StringType()),  # the one endpoint the run wrote through
    ]
)


def peak_rss_bytes(spark: SparkSession) -> int:
    """Peak resident memory of the driver: the Python process plus its JVM."""
    python = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    jvm = 0
    try:
        gateway = spark.sparkContext._jvm
        assert gateway is not None  # no JVM: caught below, like any other failure
        pid = gateway.java.lang.ProcessHandle.current().pid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                jvm = int(line.split()[1]) * 1024
    except Exception:  # not Linux, or no JVM handle: the Python figure alone
        pass
    return python + jvm


def ledger_row(ctx: RunContext, status: str, versions_after: dict[str, int] | None = None, error: str | None = None):
    finished = None if status == "running" else datetime.now(UTC)
    seconds = (finished - ctx.started_at).total_seconds() if finished else None
    lines = ctx.counts.get("lines_read", 0)
    return (
        ctx.run_id,
        ctx.kind,
        ctx.window.start if ctx.window else None,
        ctx.window.end if ctx.window else None,
        status,
        ctx.started_at,
        finished,
        seconds,
        dict(ctx.stage_seconds),
        {k: int(v) for k, v in ctx.counts.items()},
        (lines / seconds) if seconds else None,
        peak_rss_bytes(ctx.spark),
        ctx.files,
        dict(ctx.versions_before),
        versions_after,
        error,
        sorted(ctx.business_dates),
        list(ctx.quality_failures),
        ctx.data_docs,
        ctx.input_fingerprint,
        ctx.unchanged_since,
        list(ctx.files_outside_layout),
        sorted(ctx.held_back),
        ctx.settings.s3_endpoint if ctx.settings.uses_object_store else None,
    )


def write_ledger(
    ctx: RunContext, status: str, versions_after: dict[str, int] | None = None, error: str | None = None
) -> None:
    rows = ctx.spark.createDataFrame([ledger_row(ctx, status, versions_after, error)], LEDGER_SCHEMA)
    lake.append(ctx.spark, ctx.path(LEDGER), rows, merge_schema=True)


# What a run reads back from the ledger, in one read of these columns (a Delta snapshot and
# a Spark job each time): whether an earlier run did the same (plan), and what the quality
# gates have settled (quality_silver).
EARLIER_RUN_COLUMNS = (
    "run_id",
    "kind",
    "window_start",
    "window_end",
    "status",
    "started_at",
    "input_fingerprint",  # absent from a ledger from before fingerprints: read as null
    "unchanged_since",
)


def earlier_runs(ctx: RunContext) -> list:
    """The ledger's rows of the other runs, read once per run (`ctx.earlier_runs`); the
    warehouse lock keeps other runs from writing it meanwhile."""
    if ctx.earlier_runs is None:
        path = ctx.path(LEDGER)
        if lake.table_version(ctx.spark, path) is None:
            ctx.earlier_runs = []
        else:
            ledger = ctx.spark.read.format("delta").load(path)
            columns = [F.col(c) if c in ledger.columns else F.lit(None).alias(c) for c in EARLIER_RUN_COLUMNS]
            ctx.earlier_runs = ledger.where(F.col("run_id") != ctx.run_id).select(*columns).collect()
    return ctx.earlier_runs


def identical_earlier_run(ctx: RunContext) -> str | None:
    assert ctx.window is not None and ctx.input_fingerprint is not None  # set by curate_window's plan
    rows = [r for r in earlier_runs(ctx) if r.kind in ("run", "rollback")]
    return repeatable_run(rows, ctx.window, ctx.input_fingerprint)


def curated_dates(rows: list) -> set[date]:
    """The window days of earlier runs that succeeded: the history daily volumes compare with."""
    windows = {(r.window_start, r.window_end) for r in rows if r.kind == "run" and r.status == "succeeded"}
    return {day for start, end in windows for day in RunWindow(start, end).dates}


def settled_runs(rows: list) -> set[str]:
    """The runs whose rows a quality gate passed: those that succeeded. A run killed,
    failed or held back settled nothing: the next gate checks its rows again."""
    return {r.run_id for r in rows if r.status == "succeeded"}
