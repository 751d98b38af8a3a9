"""After silver, in a run and in a replay alike: the silver gate, gold for the dates the
batch touched, the gold gate, and the quality results. A table failing an error check
holds back itself and every model downstream of it; the rest goes on."""

from __future__ import annotations

import logging

from jobs.curation import lake
from jobs.curation.context import RunContext
from jobs.curation.ledger import curated_dates, earlier_runs, settled_runs
from jobs.curation.tables import QUALITY_RESULTS
from jobs.gold import build_gold
from jobs.models import downstream
from jobs.quality import QualityGate
from jobs.quality_results import RESULTS_SCHEMA, failures, failures_by_table, publish_docs, result_rows

log = logging.getLogger("curate")


def gate_and_model(ctx: RunContext, versions_after: dict[str, int]) -> None:
    """The stages after silver; `versions_after` gains the gold tables written."""
    spark = ctx.spark
    with ctx.stage("quality_silver"):
        ctx.gate = QualityGate.open(spark, ctx.settings, ctx.definitions)
        # A run's window whole, and beyond it only what no gate has passed yet (a replay,
        # which has no window, checks the dates it touched whole)
        earlier = earlier_runs(ctx)
        settled = settled_runs(earlier) if ctx.window is not None else None
        outcomes = ctx.gate.check(
            "silver", ctx.business_dates, ctx.window, ctx.dates_by_table, curated_dates(earlier), settled_runs=settled
        )
        hold_back(ctx, outcomes)

    with ctx.stage("gold"):
        # Every business date the batch holds, even if nothing new was inserted: a run
        # killed between silver and gold must still leave gold right when rerun.
        models = [model for model in ctx.definitions.models if model.table not in ctx.held_back]
        versions_after.update(build_gold(spark, ctx.settings, ctx.definitions, sorted(ctx.business_dates), models))

    with ctx.stage("quality_gold"):
        changed = {t for t, v in versions_after.items() if v != ctx.versions_before.get(t)}
        outcomes = ctx.gate.check("gold", ctx.business_dates, ctx.window, only=changed)
        for table in sorted(hold_back(ctx, outcomes) & changed):  # back to where it was before this run
            lake.restore(spark, ctx.path(table), ctx.versions_before.get(table))
            versions_after.pop(table)
    report_quality(ctx)


def hold_back(ctx: RunContext, outcomes) -> set[str]:
    """A table whose error expectations failed holds back itself and every model
    downstream of it: this run does not build them (or puts them back), while the
    tables that do not depend on it go on. Returns the tables newly held back."""
    for warning in failures(outcomes, "warn"):
        log.warning("quality warn: %s", warning)
    failed = failures_by_table(outcomes)
    if not failed:
        return set()
    ctx.quality_failures += [f for table in sorted(failed) for f in failed[table]]
    reached = set(failed) | set(downstream(set(failed), list(ctx.definitions.models)))
    held = reached.intersection(ctx.definitions.table_names) - ctx.held_back  # a view holds nothing back
    ctx.held_back |= held
    for table in sorted(failed):
        log.error("quality gate: %s failed %s", table, "; ".join(failed[table]))
    log.error("quality gate: held back %s", ", ".join(sorted(held)))
    return held


def report_quality(ctx: RunContext) -> None:
    """ops.quality_results (one row per expectation) and the run's Data Docs site in the lake."""
    assert ctx.gate is not None  # opened before the first check
    with ctx.stage("quality_report"):
        rows = result_rows(ctx.run_id, ctx.window, ctx.gate.outcomes)
        lake.append(ctx.spark, ctx.path(QUALITY_RESULTS), ctx.spark.createDataFrame(rows, RESULTS_SCHEMA))
        ctx.data_docs = publish_docs(ctx.settings, ctx.gate.build_docs(), ctx.run_id)
        ctx.gate.close()
        ctx.counts["quality_expectations"] = len(rows)
        ctx.counts["quality_failed_error"] = len(failures(ctx.gate.outcomes))
        ctx.counts["quality_failed_warn"] = len(failures(ctx.gate.outcomes, "warn"))
        log.info(
            "quality: %d expectations, %d error and %d warn failures; Data Docs %s",
            len(rows),
            ctx.counts["quality_failed_error"],
            ctx.counts["quality_failed_warn"],
            ctx.data_docs,
        )
