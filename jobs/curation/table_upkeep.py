"""`lakehouse maintain`: tables kept compact after many daily MERGEs.

Each daily run adds a few small files to every date it touches, and a commit to each
table's log. For every table a run writes, plus the ledger and the quality results:
compaction (Delta's OPTIMIZE, per partition: by date where a table is partitioned), a
checkpoint of the log, and VACUUM of the files no version of the last
`settings.retention_days` days reads. None of it changes a row: readers, MERGEs and
Trino see the same data; time travel (hence `lakehouse rollback`) reaches back
`retention_days` days. Tables created before the job chose which columns keep file
statistics (lake.STATISTICS_PROPERTY) are given them here, once.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from jobs.curation import lake
from jobs.curation.context import exclusive
from jobs.curation.ledger import write_ledger
from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.settings import Settings

log = logging.getLogger("upkeep")


def maintain_tables(settings: Settings) -> dict[str, tuple[int, int]]:
    """Compact, checkpoint and vacuum every existing table; returns {table: (files before, after)}
    and records the same figures in a ledger row of kind `maintain`."""
    definitions = Definitions.load(settings)
    run_id = f"maintain-{uuid.uuid4().hex[:8]}"
    with exclusive(settings, definitions, run_id, "maintain", "maintain tables") as ctx:
        spark = ctx.spark
        paths = {table: path_of(settings, table) for table in definitions.published_tables}
        existing = [table for table in paths if table in lake.table_versions(spark, paths)]
        written = set(definitions.table_names)  # the tables a run writes: the ones it used to declare them on
        declared = lake.declare_statistics_columns(spark, [paths[t] for t in existing if t in written])
        if declared:
            log.info("statistics columns declared on %d table(s): %s", len(declared), ", ".join(declared))

        def upkeep(table: str) -> tuple[int, int]:
            path = paths[table]
            with ctx.stage(table):
                before = lake.file_count(spark, path)
                lake.keep_removed_files_for(spark, path, settings.retention_days)
                lake.compact(spark, path)
                lake.checkpoint(spark, path)
                lake.vacuum(spark, path, settings.retention_days)
                after = lake.file_count(spark, path)
            log.info("%s: %d files -> %d", table, before, after)
            return before, after

        # Tables are independent, each step a few short Spark jobs: a few tables at a time.
        with ThreadPoolExecutor(max_workers=4) as pool:
            files = dict(zip(existing, pool.map(upkeep, existing), strict=True))
        for table, (before, after) in files.items():
            ctx.counts[f"files_before:{table}"] = before
            ctx.counts[f"files_after:{table}"] = after
        write_ledger(ctx, "succeeded")
    return files
