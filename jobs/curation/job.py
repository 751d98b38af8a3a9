"""The curation job (run with spark-submit; `lakehouse run` builds the command).

    curate run --start D1 --end D2 [--reprocess]   one window [D1, D2)
    curate rollback --run-id R              tables back to their versions before run R
    curate replay-quarantine                re-validate quarantined lines (after a contract fix)
    curate maintain                         compact, checkpoint and vacuum the tables

One log line per stage with counts and seconds; one ledger row when a run starts and
one when it ends, in ops.pipeline_runs.
"""

from __future__ import annotations

import argparse
import logging
import uuid
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, StructField, StructType

from jobs.curation import lake, staging, transform
from jobs.curation.accounting import check_accounting
from jobs.curation.context import RunContext, exclusive
from jobs.curation.downstream import gate_and_model
from jobs.curation.faults import FaultInjection
from jobs.curation.ledger import identical_earlier_run, write_ledger
from jobs.curation.plan import Landing, RunWindow, backfill_windows, files_for_window, input_fingerprint, outside_layout
from jobs.curation.silver import write_silver
from jobs.curation.tables import INGESTED_FILES
from jobs.definitions import Definitions
from jobs.entrypoint import root_cause, run_main
from jobs.errors import LakehouseError
from jobs.preflight import watch_endpoints
from jobs.publish import publish_served
from jobs.quality import QualityGateError
from jobs.quality_context import expectations_root, import_in_background
from jobs.reader import LINES_SCHEMA, read_lines
from jobs.settings import Settings

log = logging.getLogger("curate")

INGESTED_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("event_date", DateType()),
        StructField("window_start", DateType(), False),
        StructField("run_id", StringType(), False),
    ]
)


# -- the run ------------------------------------------------------------------------------


def ingested_files(ctx: RunContext, landing: list[date]) -> dict[str, date]:
    """The files of these landing dates that runs have taken, with the window that took
    each (not the whole table: it grows by a day's files every day)."""
    path = ctx.path(INGESTED_FILES)
    if lake.table_version(ctx.spark, path) is None:
        return {}
    taken = ctx.spark.read.format("delta").load(path).where(lake.landing_date_condition(landing, alias=""))
    return {r.source_file: r.window_start for r in taken.select("source_file", "window_start").collect()}


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


def curate_window(ctx: RunContext) -> dict[str, int]:
    assert ctx.window is not None  # a run has a window (a replay has none)
    spark, settings = ctx.spark, ctx.settings
    written = ctx.definitions.table_names
    with ctx.stage("plan"):
        ctx.versions_before = lake.table_versions(spark, {t: ctx.path(t) for t in written})
        landing = ctx.window.landing_dates(settings.grace_days)
        listed = Landing.of(settings, ctx.window)
        files = files_for_window(listed, ctx.window, ingested_files(ctx, landing))
        ctx.files = len(files)
        log.info("window %s: %d files", ctx.window, len(files))
        ctx.files_outside_layout = outside_layout(settings, listed)
        report_outside_layout(ctx.window, ctx.files_outside_layout)
        ctx.input_fingerprint = input_fingerprint(
            settings, listed, files, [*ctx.definitions.directories, expectations_root(settings)]
        )
        ctx.unchanged_since = None if ctx.reprocess else identical_earlier_run(ctx)
        if ctx.unchanged_since:
            log.info(
                "window %s: same files and definitions as run %s, which succeeded: nothing to do "
                "(--reprocess runs it anyway)",
                ctx.window,
                ctx.unchanged_since,
            )
            return ctx.counts
        write_ledger(ctx, "running")

    with ctx.stage("validate"):
        import_in_background()  # the quality gate needs it after silver; Spark is busy until then
        lines = read_lines(spark, files) if files else spark.createDataFrame([], LINES_SCHEMA)
        validated = staging.stage_validated(ctx, lines)
        log.info(
            "read %d lines: %d parsed, %d valid, %d quarantined",
            ctx.counts["lines_read"],
            ctx.counts["events_parsed"],
            ctx.counts["valid"],
            ctx.counts["quarantined_unparseable"] + ctx.counts["quarantined_contract"],
        )
    try:
        write_curated(ctx, validated, files)
    finally:
        staging.drop(spark, staging.staging_path(settings, ctx.run_id))
    return ctx.counts


def write_curated(ctx: RunContext, validated: DataFrame, files: list[str]) -> None:
    assert ctx.window is not None  # a run has a window (a replay has none)
    spark, counts = ctx.spark, ctx.counts
    versions_after: dict[str, int] = {}
    landing = ctx.window.landing_dates(ctx.settings.grace_days)
    if files:
        with ctx.stage("bronze"):
            bronze = transform.bronze_events(validated, ctx.window.start.isoformat())
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
            lake.landing_date_condition(landing),
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

    gate_and_model(ctx, versions_after)

    if files:
        with ctx.stage("ingested_files"):
            rows = spark.createDataFrame(
                [(f, None, ctx.window.start, ctx.run_id) for f in files], INGESTED_SCHEMA
            ).withColumn("event_date", transform.folder_date(F.col("source_file")))
            versions_after["ops.ingested_files"] = lake.merge_insert_only(
                spark,
                "ops.ingested_files",
                ctx.path(INGESTED_FILES),
                rows,
                ["source_file"],
                lake.landing_date_condition(landing),
                [],
            ).version

    tables = list(ctx.registry.target_tables)
    counts["inserted"] = sum(counts[f"inserted:{t}"] for t in tables)
    counts["duplicates_in_window"] = sum(counts[f"duplicates_in_window:{t}"] for t in tables)
    counts["duplicates_history"] = sum(counts[f"duplicates_history:{t}"] for t in tables)
    counts["exact_replays"] = counts["valid"] - counts.get("valid_distinct_root_ids", counts["valid"])
    check_accounting(counts, tables, bronze_expected=bool(files))
    ctx.versions_after = versions_after


# -- entry points -------------------------------------------------------------------------


class PublishError(LakehouseError):
    pass


def publish_run(settings: Settings, definitions: Definitions) -> str | None:
    """Register the run's tables and the views in Trino; the failure, in one line, or None."""
    try:
        publish_served(settings, definitions)
    except Exception as exc:
        log.error("publishing to Trino failed: %s", root_cause(exc))
        return f"publishing to Trino failed: {root_cause(exc)}"
    return None


def run_window(
    settings: Settings, window: RunWindow, faults: FaultInjection, run_id: str | None = None, reprocess: bool = False
) -> dict:
    definitions = Definitions.load(settings)
    # The endpoint watch, at every attempt: a retry after the endpoint went away fails over.
    settings, _ = watch_endpoints(settings, definitions, buckets=settings.run_buckets, trino=settings.trino_register)
    run_id = run_id or f"run-{window.start}-{uuid.uuid4().hex[:8]}"
    with exclusive(
        settings, definitions, run_id, "run", f"curate {window}", window, faults=faults, reprocess=reprocess
    ) as ctx:
        log.info("run %s: window %s", run_id, window)
        try:
            counts = curate_window(ctx)
        except Exception as exc:
            if ctx.versions_before or ctx.stage_seconds:
                try:
                    write_ledger(ctx, "failed", error=root_cause(exc))
                except Exception as ledger_exc:  # the same outage, most likely: say so, keep the cause
                    log.error("could not record the failure in the ledger: %s", root_cause(ledger_exc))
            raise
        # Publishing comes after the tables are committed and before the final ledger row,
        # which says whether it worked; an unchanged rerun publishes too, so the next run
        # repairs what a failed publish left (as does `lakehouse publish`).
        publish_error = publish_run(settings, definitions)
        versions_after = ctx.versions_before if ctx.unchanged_since else ctx.versions_after
        with ctx.stage("ledger"):
            status = "held_back" if ctx.held_back else "succeeded"
            write_ledger(ctx, status, versions_after=versions_after, error=publish_error)
        if publish_error:
            raise PublishError(
                f"run {run_id}: the tables are committed, but {publish_error}; "
                "`lakehouse publish` (or the next run) registers them"
            )
        if ctx.held_back:  # loud: the command fails, Airflow alerts; a rerun runs in full
            raise QualityGateError(sorted(ctx.held_back), ctx.quality_failures)
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
        "--days-per-run",
        type=int,
        help="a backfill: windows of this many days over [start, end), one after another in this driver "
        "(without it, [start, end) is one window)",
    )
    run.add_argument("--kill-after", help=argparse.SUPPRESS)
    run.add_argument("--kill-during", help=argparse.SUPPRESS)
    rollback = commands.add_parser("rollback")
    rollback.add_argument("--run-id", required=True)
    rollback.add_argument("--force", action="store_true")
    commands.add_parser("replay-quarantine")
    commands.add_parser("maintain")
    args = parser.parse_args(argv)

    settings = Settings.load()
    if args.command == "run":
        windows = (
            backfill_windows(args.start, args.end, args.days_per_run)
            if args.days_per_run
            else [RunWindow(args.start, args.end)]
        )
        for number, window in enumerate(windows, 1):
            try:
                run_window(
                    settings,
                    window,
                    FaultInjection(args.kill_after, args.kill_during),
                    args.run_id if len(windows) == 1 else None,
                    args.reprocess,
                )
            except Exception:
                if len(windows) > 1:
                    log.error(
                        "backfill: window %s (%d of %d) failed; the %d later window(s) were not run",
                        window,
                        number,
                        len(windows),
                        len(windows) - number,
                    )
                raise
    elif args.command == "rollback":
        from jobs.curation.maintenance import rollback_run

        rollback_run(settings, args.run_id, args.force)
    elif args.command == "maintain":
        from jobs.curation.table_upkeep import maintain_tables

        maintain_tables(settings)
    else:
        from jobs.curation.maintenance import replay_quarantine

        replay_quarantine(settings)
    return 0


if __name__ == "__main__":
    run_main(main)
