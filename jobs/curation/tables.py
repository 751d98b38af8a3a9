"""The tables a run writes and publishes, named by `schema.table`, and where each lives."""

from __future__ import annotations

from jobs.settings import Settings

LEDGER = "ops.pipeline_runs"
QUALITY_RESULTS = "ops.quality_results"
INGESTED_FILES = "ops.ingested_files"

LINEAGE = "run_id"  # a silver row's column: the run that curated it (incremental models carry it along)


def path_of(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return settings.table_path(schema, name)
