"""Writing one silver table: deduplicate the run's valid rows, then MERGE them."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame

from jobs.contract_model import Contract
from jobs.curation import lake, transform
from jobs.curation.context import RunContext

log = logging.getLogger("curate")


def write_silver(ctx: RunContext, validated: DataFrame, contract: Contract) -> tuple[lake.WriteResult, int]:
    candidates = transform.silver_candidates(validated, contract, ctx.run_id)
    key = list(contract.business_key)
    # What the dedupe will keep, counted apart from it: one row per distinct key, on these
    # dates (one aggregate over a few staged columns). The MERGE counts its source rows on
    # its own, so the accounting check "the MERGE saw every deduplicated row" keeps its teeth.
    rows, dates = transform.keys_and_dates(candidates, key)
    if contract.latest_by:
        deduped = transform.latest_per_key(candidates, key, contract.latest_by)
    else:
        deduped = transform.first_per_key(candidates, key)
    deduped = transform.without_tiebreakers(deduped)
    ctx.business_dates.update(dates)
    ctx.dates_by_table[contract.target_table] = set(dates)
    path = ctx.path(contract.target_table)
    if contract.latest_by:
        result = lake.merge_latest(ctx.spark, contract.target_table, path, deduped, key, contract.latest_by)
    else:
        look_back = ctx.settings.look_back_days if contract.look_back_days is None else contract.look_back_days
        prune = lake.date_range_condition("business_date", dates, look_back) if dates else None
        result = lake.merge_insert_only(
            ctx.spark, contract.target_table, path, deduped, key, prune, list(contract.partition_by)
        )
    log.info(
        "%s: %d valid, %d after in-window dedupe, %d inserted, %d updated",
        contract.target_table,
        ctx.counts.get(f"valid:{contract.target_table}", 0),
        rows,
        result.inserted,
        result.updated,
    )
    return result, rows
