"""Undoing a run and replaying the quarantine."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from delta.tables import DeltaTable
from pyspark.sql import functions as F

from jobs.curation import lake, staging
from jobs.curation.context import RunContext, exclusive
from jobs.curation.downstream import gate_and_model
from jobs.curation.ledger import write_ledger
from jobs.curation.silver import write_silver
from jobs.curation.tables import LEDGER, path_of
from jobs.definitions import Definitions
from jobs.errors import LakehouseError
from jobs.publish import publish_served
from jobs.quality import QualityGateError
from jobs.settings import Settings

log = logging.getLogger("maintenance")
READ_ERRORS = ("invalid_utf8", "oversize_line", "corrupt_file")


def rollback_run(settings: Settings, run_id: str, force: bool = False) -> None:
    """Restore every table the run wrote to its version before the run."""
    definitions = Definitions.load(settings)
    rollback_id = f"rollback-{uuid.uuid4().hex[:8]}"
    with exclusive(settings, definitions, rollback_id, "rollback", f"rollback {run_id}") as ctx:
        spark = ctx.spark
        ledger_path = path_of(settings, LEDGER)
        if lake.table_version(spark, ledger_path) is None:
            raise LakehouseError(f"no run {run_id}: the ledger ops.pipeline_runs does not exist")
        ledger = spark.read.format("delta").load(ledger_path)
        rows = ledger.where(F.col("run_id") == run_id).orderBy("started_at").collect()
        if not rows:
            raise LakehouseError(f"no run {run_id} in ops.pipeline_runs")
        if any(r.status == "rolled_back" for r in rows):
            raise LakehouseError(f"run {run_id} was already rolled back")
        started = rows[0].started_at.astimezone(UTC)  # Spark hands back naive local times
        age = datetime.now(UTC) - started
        if age > timedelta(days=settings.retention_days):
            raise LakehouseError(
                f"run {run_id} started {started:%Y-%m-%d %H:%M} UTC, {age.days} days ago: table versions are kept "
                f"{settings.retention_days} days (LAKEHOUSE_RETENTION_DAYS; `lakehouse maintain` vacuums older files), "
                "so the versions before it cannot be restored"
            )
        later = sorted(
            {
                r.run_id
                for r in ledger.where(
                    (F.col("started_at") > F.lit(started)) & F.col("kind").isin("run", "replay")
                ).collect()
            }
        )
        if later and not force:
            raise LakehouseError(
                f"runs after {run_id} changed the same tables ({', '.join(later)}); roll them back first, "
                "or pass --force to undo them too"
            )
        before = dict(rows[0].versions_before or {})
        for table in definitions.table_names:
            version = before.get(table)
            log.info(
                "%s: restoring to %s", table, "empty (created by the run)" if version is None else f"version {version}"
            )
            lake.restore(spark, path_of(settings, table), version)
        ctx.counts = {"restored_tables": len(definitions.table_names)}
        write_ledger(ctx, "succeeded", error=f"rolled back {run_id}")
        marker = RunContext(settings, definitions, spark, run_id, rows[0].kind, None)
        marker.started_at = started
        write_ledger(marker, "rolled_back", error=f"rolled back by {ctx.run_id}")
    log.info("rolled back run %s", run_id)


def replay_quarantine(settings: Settings) -> dict:
    """Re-validate every quarantined line not replayed yet with today's contracts; the
    ones that now pass go to silver (deduplicated as usual) and are marked replayed, and
    the pipeline goes on as in a run: quality gates, gold, quality results, publishing."""
    definitions = Definitions.load(settings)
    registry = definitions.contracts
    run_id = f"replay-{uuid.uuid4().hex[:8]}"
    with exclusive(settings, definitions, run_id, "replay", "replay quarantine") as ctx:
        spark = ctx.spark
        quarantine_path = ctx.path("quarantine.events")
        with ctx.stage("plan"):
            ctx.versions_before = lake.table_versions(spark, {t: ctx.path(t) for t in definitions.table_names})
            if "quarantine.events" not in ctx.versions_before:
                raise LakehouseError("nothing to replay: quarantine.events does not exist")
            write_ledger(ctx, "running")
        with ctx.stage("validate"):
            pending = spark.read.format("delta").load(quarantine_path).where("replayed_by_run_id IS NULL")
            lines = pending.select(
                "source_file",
                "line_number",
                F.col("raw_line").alias("line"),
                F.coalesce(F.length("raw_line"), F.lit(0)).alias("line_bytes"),
                F.when(F.col("primary_reason").isin(*READ_ERRORS), F.col("primary_reason")).alias("read_error"),
                F.current_timestamp().alias("landed_at"),  # the envelope's timestamps: not after the replay
            )
            validated = staging.stage_validated(ctx, lines)
        versions_after = {}
        for table in registry.target_tables:
            with ctx.stage(table):
                result, _deduped = write_silver(ctx, validated, registry.current(registry.target_tables[table]))
                versions_after[table] = result.version
                ctx.counts[f"inserted:{table}"] = result.inserted + result.updated
                ctx.counts[f"duplicates:{table}"] = (
                    ctx.counts.get(f"valid:{table}", 0) - result.inserted - result.updated
                )
        with ctx.stage("quarantine"):
            now_valid = validated.where(F.size("reasons") == 0).select("source_file", "line_number")
            (
                DeltaTable.forPath(spark, quarantine_path)
                .alias("t")
                .merge(now_valid.alias("s"), "t.source_file = s.source_file AND t.line_number = s.line_number")
                .whenMatchedUpdate(set={"replayed_by_run_id": F.lit(run_id)})
                .execute()
            )
            quarantine_version = lake.table_version(spark, quarantine_path)
            assert quarantine_version is not None  # the table was just merged into
            versions_after["quarantine.events"] = quarantine_version
        staging.drop(spark, staging.staging_path(settings, run_id))
        # The same stages as a run after silver: gates, gold for the dates replayed rows
        # fall on, the quality results.
        gate_and_model(ctx, versions_after)
        ctx.counts["replayed"] = ctx.counts["valid"]
        ctx.counts["still_quarantined"] = ctx.counts["lines_read"] - ctx.counts["valid"]
        write_ledger(ctx, "held_back" if ctx.held_back else "succeeded", versions_after=versions_after)
        publish_served(settings, definitions)
        if ctx.held_back:
            raise QualityGateError(sorted(ctx.held_back), ctx.quality_failures)
    log.info(
        "replay %s: %d lines re-validated, %d now valid, %d still quarantined",
        run_id,
        ctx.counts["lines_read"],
        ctx.counts["valid"],
        ctx.counts["still_quarantined"],
    )
    return ctx.counts
