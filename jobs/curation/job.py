"""The curation job (run with spark-submit; `lakehouse run` builds the command).

    curate run --start D1 --end D2 [--reprocess]   one window [D1, D2)
    curate rollback --run-id R              tables back to their versions before run R
    curate replay-quarantine                re-validate quarantined lines (after a contract fix)

One log line per stage with counts and seconds; one ledger row when a run starts and
one when it ends, in ops.pipeline_runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
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

from jobs.contracts import CONTRACTS_DIR, Contract, ContractRegistry, load_contracts
from jobs.curation import lake, transform
from jobs.curation.lock import PipelineLock
from jobs.curation.plan import RunWindow, files_for_window, input_fingerprint, outside_layout, repeatable_run
from jobs.entrypoint import root_cause, run_main
from jobs.errors import LakehouseError
from jobs.gold import build_gold
from jobs.models import MODELS_DIR, SEEDS_DIR, load_models
from jobs.preflight import check_endpoints
from jobs.quality import (
    RESULTS_SCHEMA,
    QualityGate,
    QualityGateError,
    expectations_root,
    failures,
    import_in_background,
    publish_docs,
    result_rows,
)
from jobs.reader import LINES_SCHEMA, read_lines
from jobs.settings import Settings
from jobs.spark import build_spark_session
from jobs.validation import validate

log = logging.getLogger("curate")

BRONZE = ("bronze", "events")
QUARANTINE = ("quarantine", "events")
RUNS = ("ops", "pipeline_runs")
INGESTED = ("ops", "ingested_files")

LEDGER_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("kind", StringType(), False),  # run | replay | rollback
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
    ]
)
INGESTED_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("event_date", DateType()),
        StructField("window_start", DateType(), False),
        StructField("run_id", StringType(), False),
    ]
)


class AccountingError(LakehouseError):
    pass


def table_names(registry: ContractRegistry) -> list[str]:
    """Every table a run writes (and a rollback restores); the ledger is never restored."""
    gold = [model.table for model in load_models()]
    return ["bronze.events", "quarantine.events", *registry.target_tables, *gold, "ops.ingested_files"]


def path_of(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return settings.table_path(schema, name)


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


@dataclass
class FaultInjection:
    """For crash tests only: SIGKILL this driver after a stage, or during a table's write."""

    kill_after: str | None = None
    kill_during: str | None = None
    delay_seconds: float = 1.0

    def after(self, stage: str) -> None:
        if stage == self.kill_after:
            log.warning("fault injection: killing the driver after stage %s", stage)
            os.kill(os.getpid(), signal.SIGKILL)

    @contextmanager
    def during(self, stage: str):
        timer = None
        if stage == self.kill_during:
            log.warning("fault injection: killing the driver %.1f s into stage %s", self.delay_seconds, stage)
            timer = threading.Timer(self.delay_seconds, os.kill, (os.getpid(), signal.SIGKILL))
            timer.start()
        try:
            yield
        finally:
            if timer:
                timer.cancel()


@dataclass
class RunContext:
    settings: Settings
    registry: ContractRegistry
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
    data_docs: str | None = None
    reprocess: bool = False  # run even if the window's input and definitions are unchanged
    input_fingerprint: str | None = None
    unchanged_since: str | None = None

    @contextmanager
    def stage(self, name: str):
        started = time.monotonic()
        with self.faults.during(name):
            yield
        self.stage_seconds[name] = round(time.monotonic() - started, 3)
        log.info("stage %-24s %7.1f s", name, self.stage_seconds[name])
        self.faults.after(name)

    def path(self, table: str) -> str:
        return path_of(self.settings, table)

    def ledger_row(self, status: str, versions_after: dict[str, int] | None = None, error: str | None = None):
        finished = None if status == "running" else datetime.now(UTC)
        seconds = (finished - self.started_at).total_seconds() if finished else None
        lines = self.counts.get("lines_read", 0)
        return (
            self.run_id,
            self.kind,
            self.window.start if self.window else None,
            self.window.end if self.window else None,
            status,
            self.started_at,
            finished,
            seconds,
            dict(self.stage_seconds),
            {k: int(v) for k, v in self.counts.items()},
            (lines / seconds) if seconds else None,
            peak_rss_bytes(self.spark),
            self.files,
            dict(self.versions_before),
            versions_after,
            error,
            sorted(self.business_dates),
            list(self.quality_failures),
            self.data_docs,
            self.input_fingerprint,
            self.unchanged_since,
            list(self.files_outside_layout),
        )

    def write_ledger(self, status: str, versions_after: dict[str, int] | None = None, error: str | None = None) -> None:
        rows = self.spark.createDataFrame([self.ledger_row(status, versions_after, error)], LEDGER_SCHEMA)
        lake.append(self.spark, self.path("ops.pipeline_runs"), rows, merge_schema=True)


# -- the run ------------------------------------------------------------------------------


def ingested_files(ctx: RunContext) -> dict[str, date]:
    path = ctx.path("ops.ingested_files")
    if lake.table_version(ctx.spark, path) is None:
        return {}
    rows = ctx.spark.read.format("delta").load(path).select("source_file", "window_start").collect()
    return {r.source_file: r.window_start for r in rows}


def definition_dirs(settings: Settings) -> list[Path]:
    """What a run applies besides its input: contracts, expectations, gold models, seeds."""
    return [
        Path(settings.contracts_dir) if settings.contracts_dir else CONTRACTS_DIR,
        expectations_root(settings),
        MODELS_DIR,
        SEEDS_DIR,
    ]


def report_outside_layout(window: RunWindow, skipped: list[str], shown: int = 20) -> None:
    """One warning line per object the run skips (a few, then how many more)."""
    for name in skipped[:shown]:
        log.warning(
            "window %s: skipped %s: outside the layout event_date=YYYY-MM-DD/hour=HH/"
            "<collector_id>-<sequence>.jsonl.gz",
            window,
            name,
        )
    if len(skipped) > shown:
        log.warning(
            "window %s: skipped %d more objects outside the layout (ops.pipeline_runs.files_outside_layout)",
            window,
            len(skipped) - shown,
        )


def identical_earlier_run(ctx: RunContext) -> str | None:
    path = ctx.path("ops.pipeline_runs")
    if lake.table_version(ctx.spark, path) is None:
        return None
    ledger = ctx.spark.read.format("delta").load(path)
    if "input_fingerprint" not in ledger.columns:  # a ledger from before fingerprints
        return None
    rows = (
        ledger.where(F.col("kind").isin("run", "rollback"))
        .select(
            "run_id",
            "kind",
            "window_start",
            "window_end",
            "status",
            "started_at",
            "input_fingerprint",
            "unchanged_since",
        )
        .collect()
    )
    assert ctx.window is not None and ctx.input_fingerprint is not None  # set by curate_window's plan
    return repeatable_run(rows, ctx.window, ctx.input_fingerprint)


def curate_window(ctx: RunContext) -> dict[str, int]:
    assert ctx.window is not None  # a run has a window (a replay has none)
    spark, settings, registry = ctx.spark, ctx.settings, ctx.registry
    with ctx.stage("plan"):
        declared = lake.declare_statistics_columns(spark, [ctx.path(t) for t in table_names(registry)])
        if declared:
            log.info("statistics columns declared on %d existing table(s): %s", len(declared), ", ".join(declared))
        ctx.versions_before = lake.table_versions(spark, {t: ctx.path(t) for t in table_names(registry)})
        files = files_for_window(settings, ctx.window, ingested_files(ctx))
        ctx.files = len(files)
        log.info("window %s: %d files", ctx.window, len(files))
        ctx.files_outside_layout = outside_layout(settings, ctx.window)
        report_outside_layout(ctx.window, ctx.files_outside_layout)
        ctx.input_fingerprint = input_fingerprint(settings, ctx.window, files, definition_dirs(settings))
        ctx.unchanged_since = None if ctx.reprocess else identical_earlier_run(ctx)
        if ctx.unchanged_since:
            log.info(
                "window %s: same files and definitions as run %s, which succeeded: nothing to do "
                "(--reprocess runs it anyway)",
                ctx.window,
                ctx.unchanged_since,
            )
            return ctx.counts
        ctx.write_ledger("running")

    with ctx.stage("validate"):
        import_in_background()  # the quality gate needs it after silver; Spark is busy until then
        lines = read_lines(spark, files) if files else spark.createDataFrame([], LINES_SCHEMA)
        # On local disk, not the heap: a day's validated rows are wide (payload text plus
        # one typed struct per table), and the heap is needed by the MERGEs that follow.
        validated = (
            transform.with_landing_date(validate(lines, registry))
            .transform(transform.raw_lines_of_quarantined_only)
            .persist(StorageLevel.DISK_ONLY)
        )
        ctx.counts.update(transform.run_counts(validated, registry.target_tables))
        log.info(
            "read %d lines: %d parsed, %d valid, %d quarantined",
            ctx.counts["lines_read"],
            ctx.counts["events_parsed"],
            ctx.counts["valid"],
            ctx.counts["quarantined_unparseable"] + ctx.counts["quarantined_contract"],
        )

    write_curated(ctx, validated, files)
    validated.unpersist()
    return ctx.counts


def write_curated(ctx: RunContext, validated: DataFrame, files: list[str]) -> None:
    assert ctx.window is not None  # a run has a window (a replay has none)
    spark, counts = ctx.spark, ctx.counts
    versions_after: dict[str, int] = {}
    if files:
        with ctx.stage("bronze"):
            bronze = transform.bronze_events(validated, ctx.window.start.isoformat())
            landing = [d for d in (*ctx.window.grace_dates(ctx.settings.grace_days), *ctx.window.dates)]
            result = lake.replace_source_files(
                spark, "bronze.events", ctx.path("bronze.events"), bronze, landing, files
            )
            versions_after["bronze.events"] = result.version
            counts["bronze_rows"] = result.inserted

    with ctx.stage("quarantine"):
        quarantined = transform.quarantine_events(validated, ctx.run_id)
        result = lake.merge_insert_only(
            spark,
            "quarantine.events",
            ctx.path("quarantine.events"),
            quarantined,
            ["source_file", "line_number"],
            None,
            [],
        )
        versions_after["quarantine.events"] = result.version
        counts["quarantine_inserted"] = result.inserted
        counts["quarantine_source_rows"] = result.source_rows

    for table in ctx.registry.target_tables:
        with ctx.stage(table):
            result, deduped = write_silver(ctx, validated, ctx.registry.current(ctx.registry.target_tables[table]))
            versions_after[table] = result.version
            counts[f"valid:{table}"] = counts.get(f"valid:{table}", 0)
            counts[f"deduplicated:{table}"] = deduped
            counts[f"inserted:{table}"] = result.inserted + result.updated
            counts[f"updated:{table}"] = result.updated
            counts[f"merge_source_rows:{table}"] = result.source_rows
            counts[f"duplicates_in_window:{table}"] = counts[f"valid:{table}"] - deduped
            counts[f"duplicates_history:{table}"] = deduped - result.inserted - result.updated

    with ctx.stage("quality_silver"):
        ctx.gate = QualityGate.open(spark, ctx.settings)
        outcomes = ctx.gate.check("silver", ctx.business_dates, ctx.window, ctx.dates_by_table, curated_dates(ctx))
        stop_on_errors(ctx, outcomes, "silver")

    with ctx.stage("gold"):
        # Every business date the batch holds, even if nothing new was inserted: a run
        # killed between silver and gold must still leave gold right when rerun.
        versions_after.update(build_gold(spark, ctx.settings, sorted(ctx.business_dates)))

    with ctx.stage("quality_gold"):
        changed = {t for t, v in versions_after.items() if v != ctx.versions_before.get(t)}
        outcomes = ctx.gate.check("gold", ctx.business_dates, ctx.window, only=changed)
        if failures(outcomes):  # gold goes back to where it was: this run publishes nothing
            for table in sorted(t for t in changed if t.startswith("gold.")):
                lake.restore(spark, ctx.path(table), ctx.versions_before.get(table))
        stop_on_errors(ctx, outcomes, "gold")
    report_quality(ctx)

    if files:
        with ctx.stage("ingested_files"):
            rows = spark.createDataFrame(
                [(f, None, ctx.window.start, ctx.run_id) for f in files], INGESTED_SCHEMA
            ).withColumn("event_date", transform.folder_date(F.col("source_file")))
            versions_after["ops.ingested_files"] = lake.merge_insert_only(
                spark, "ops.ingested_files", ctx.path("ops.ingested_files"), rows, ["source_file"], None, []
            ).version

    tables = list(ctx.registry.target_tables)
    counts["inserted"] = sum(counts[f"inserted:{t}"] for t in tables)
    counts["duplicates_in_window"] = sum(counts[f"duplicates_in_window:{t}"] for t in tables)
    counts["duplicates_history"] = sum(counts[f"duplicates_history:{t}"] for t in tables)
    counts["exact_replays"] = counts["valid"] - counts.get("valid_distinct_root_ids", counts["valid"])
    check_accounting(counts, tables, bronze_expected=bool(files))
    ctx.versions_after = versions_after


def curated_dates(ctx: RunContext) -> set[date]:
    """The window days of earlier runs that succeeded: the history daily volumes compare with."""
    path = ctx.path("ops.pipeline_runs")
    runs = (
        ctx.spark.read.format("delta")
        .load(path)
        .where((F.col("kind") == "run") & (F.col("status") == "succeeded") & (F.col("run_id") != ctx.run_id))
        .select("window_start", "window_end")
        .distinct()
        .collect()
    )
    return {day for r in runs for day in RunWindow(r.window_start, r.window_end).dates}


def stop_on_errors(ctx: RunContext, outcomes, layer: str) -> None:
    failed = failures(outcomes)
    if failed:
        ctx.quality_failures = failed
        report_quality(ctx)
        raise QualityGateError(layer, failed)
    for warning in failures(outcomes, "warn"):
        log.warning("quality warn: %s", warning)


def report_quality(ctx: RunContext) -> None:
    """ops.quality_results (one row per expectation) and the Data Docs site, here and in the lake."""
    assert ctx.gate is not None  # opened before the first check
    with ctx.stage("quality_report"):
        rows = result_rows(ctx.run_id, ctx.window, ctx.gate.outcomes)
        lake.append(ctx.spark, ctx.path("ops.quality_results"), ctx.spark.createDataFrame(rows, RESULTS_SCHEMA))
        site = ctx.gate.build_docs()
        ctx.data_docs = publish_docs(ctx.settings, site, ctx.run_id)
        ctx.counts["quality_expectations"] = len(rows)
        ctx.counts["quality_failed_error"] = len(failures(ctx.gate.outcomes))
        ctx.counts["quality_failed_warn"] = len(failures(ctx.gate.outcomes, "warn"))
        log.info(
            "quality: %d expectations, %d error and %d warn failures; Data Docs %s (local %s)",
            len(rows),
            ctx.counts["quality_failed_error"],
            ctx.counts["quality_failed_warn"],
            ctx.data_docs,
            site,
        )


def write_silver(ctx: RunContext, validated: DataFrame, contract: Contract) -> tuple[lake.WriteResult, int]:
    candidates = transform.silver_candidates(validated, contract, ctx.run_id)
    key = list(contract.business_key)
    if contract.latest_by:
        deduped = transform.latest_per_key(candidates, key, contract.latest_by)
    else:
        deduped = transform.first_per_key(candidates, key)
    deduped = transform.without_tiebreakers(deduped)
    # Not persisted: the dedupe runs twice from the staged lines, once here on the key and
    # date columns alone (cheap), once in the MERGE. The two are counted independently, so
    # the accounting check "the MERGE saw every deduplicated row" keeps its teeth.
    rows_by_date = {r[0]: r[1] for r in deduped.groupBy("business_date").count().collect()}
    rows = sum(rows_by_date.values())
    dates = sorted(d for d in rows_by_date if d is not None)
    ctx.business_dates.update(dates)
    ctx.dates_by_table[contract.target_table] = set(dates)
    path = ctx.path(contract.target_table)
    if contract.latest_by:
        result = lake.merge_latest(ctx.spark, contract.target_table, path, deduped, key, contract.latest_by)
    else:
        prune = lake.date_range_condition("business_date", dates, ctx.settings.look_back_days) if dates else None
        partition_by = ["business_date"] if contract.target_table == "silver.token_transfers" else []
        result = lake.merge_insert_only(ctx.spark, contract.target_table, path, deduped, key, prune, partition_by)
    log.info(
        "%s: %d valid, %d after in-window dedupe, %d inserted, %d updated",
        contract.target_table,
        ctx.counts.get(f"valid:{contract.target_table}", 0),
        rows,
        result.inserted,
        result.updated,
    )
    return result, rows


def check_accounting(counts: dict[str, int], tables: list[str], bronze_expected: bool) -> None:
    """DESIGN.md §3: nothing disappears without a row that says why."""
    problems = []

    def expect(name: str, left: int, right: int) -> None:
        if left != right:
            problems.append(f"{name}: {left} != {right}")

    expect(
        "lines read = events parsed + quarantined(unparseable)",
        counts["lines_read"],
        counts["events_parsed"] + counts["quarantined_unparseable"],
    )
    expect(
        "events parsed = valid + quarantined(contract)",
        counts["events_parsed"],
        counts["valid"] + counts["quarantined_contract"],
    )
    expect(
        "valid = inserted + duplicates(in window) + duplicates(history)",
        counts["valid"],
        counts["inserted"] + counts["duplicates_in_window"] + counts["duplicates_history"],
    )
    expect("valid = sum of valid per table", counts["valid"], sum(counts[f"valid:{t}"] for t in tables))
    if counts["quarantine_source_rows"] >= 0:  # -1: the MERGE had nothing to write
        expect(
            "quarantine MERGE saw every quarantined line",
            counts["quarantine_source_rows"],
            counts["quarantined_unparseable"] + counts["quarantined_contract"],
        )
    if bronze_expected:
        expect("bronze holds every parsed envelope", counts["bronze_rows"], counts["events_parsed"])
    for table in tables:
        if counts[f"merge_source_rows:{table}"] >= 0:
            expect(
                f"{table}: MERGE saw every deduplicated row",
                counts[f"merge_source_rows:{table}"],
                counts[f"deduplicated:{table}"],
            )
        if counts[f"duplicates_history:{table}"] < 0:
            problems.append(f"{table}: more rows inserted than offered")
    if problems:
        raise AccountingError("accounting invariant broken: " + "; ".join(problems))


# -- entry points -------------------------------------------------------------------------


def register_in_trino(settings: Settings, tables: list[str]) -> None:
    if not (settings.uses_object_store and settings.trino_register):
        return
    from jobs.publish import publish

    publish(settings, tables)


class PublishError(LakehouseError):
    pass


def publish_run(settings: Settings, registry: ContractRegistry) -> str | None:
    """Register the run's tables and the views in Trino; the failure, in one line, or None."""
    try:
        register_in_trino(settings, [*table_names(registry), "ops.pipeline_runs", "ops.quality_results"])
    except Exception as exc:
        log.error("publishing to Trino failed: %s", root_cause(exc))
        return f"publishing to Trino failed: {root_cause(exc)}"
    return None


def run_window(
    settings: Settings, window: RunWindow, faults: FaultInjection, run_id: str | None = None, reprocess: bool = False
) -> dict:
    registry = load_contracts(Path(settings.contracts_dir) if settings.contracts_dir else CONTRACTS_DIR)
    buckets = [settings.lake_bucket] + (
        [settings.raw_bucket_and_prefix[0]] if settings.raw_location.startswith("s3a://") else []
    )
    check_endpoints(settings, buckets=buckets, trino=settings.trino_register)
    run_id = run_id or f"run-{window.start}-{uuid.uuid4().hex[:8]}"
    with PipelineLock(
        settings, run_id, wait_seconds=settings.lock_wait_seconds, lease_seconds=settings.lock_lease_seconds
    ):
        spark = build_spark_session(settings, f"curate {window}")
        ctx = RunContext(settings, registry, spark, run_id, "run", window, faults, reprocess=reprocess)
        log.info("run %s: window %s", run_id, window)
        try:
            counts = curate_window(ctx)
        except Exception as exc:
            if ctx.versions_before or ctx.stage_seconds:
                try:
                    ctx.write_ledger("failed", error=root_cause(exc))
                except Exception as ledger_exc:  # the same outage, most likely: say so, keep the cause
                    log.error("could not record the failure in the ledger: %s", root_cause(ledger_exc))
            raise
        # Publishing comes after the tables are committed and before the final ledger row,
        # which says whether it worked; an unchanged rerun publishes too, so the next run
        # repairs what a failed publish left (as does `lakehouse publish`).
        publish_error = publish_run(settings, registry)
        versions_after = ctx.versions_before if ctx.unchanged_since else ctx.versions_after
        with ctx.stage("ledger"):
            ctx.write_ledger("succeeded", versions_after=versions_after, error=publish_error)
        if publish_error:
            raise PublishError(
                f"run {run_id}: the tables are committed, but {publish_error}; "
                "`lakehouse publish` (or the next run) registers them"
            )
        if ctx.unchanged_since:
            return counts
    log.info(
        "run %s succeeded: %d lines, %d inserted, %d duplicates, %d quarantined",
        run_id,
        counts["lines_read"],
        counts["inserted"],
        counts["duplicates_in_window"] + counts["duplicates_history"],
        counts["quarantined_unparseable"] + counts["quarantined_contract"],
    )
    return counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="curate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--start", type=date.fromisoformat, required=True)
    run.add_argument("--end", type=date.fromisoformat, required=True)
    run.add_argument("--run-id")
    run.add_argument(
        "--reprocess",
        action="store_true",
        help="run even if the input files and definitions are those of the last successful run",
    )
    run.add_argument(
        "--daily",
        action="store_true",
        help="a backfill: one window per day of [start, end), one after another in this driver",
    )
    run.add_argument("--kill-after", help=argparse.SUPPRESS)
    run.add_argument("--kill-during", help=argparse.SUPPRESS)
    rollback = commands.add_parser("rollback")
    rollback.add_argument("--run-id", required=True)
    rollback.add_argument("--force", action="store_true")
    commands.add_parser("replay-quarantine")
    args = parser.parse_args(argv)

    settings = Settings.load()
    if args.command == "run":
        window = RunWindow(args.start, args.end)
        days = [RunWindow(day, day + timedelta(days=1)) for day in window.dates] if args.daily else [window]
        for number, day in enumerate(days, 1):
            try:
                run_window(
                    settings,
                    day,
                    FaultInjection(args.kill_after, args.kill_during),
                    args.run_id if len(days) == 1 else None,
                    args.reprocess,
                )
            except Exception:
                if len(days) > 1:
                    log.error(
                        "backfill: window %s (%d of %d) failed; the %d later window(s) were not run",
                        day,
                        number,
                        len(days),
                        len(days) - number,
                    )
                raise
    elif args.command == "rollback":
        from jobs.curation.maintenance import rollback_run

        rollback_run(settings, args.run_id, args.force)
    else:
        from jobs.curation.maintenance import replay_quarantine

        replay_quarantine(settings)
    return 0


if __name__ == "__main__":
    run_main(main)
