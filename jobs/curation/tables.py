"""The tables a run writes and publishes, named by `schema.table`, and where each lives."""

from __future__ import annotations

from jobs.contracts import ContractRegistry
from jobs.models import load_models
from jobs.settings import Settings

LEDGER = "ops.pipeline_runs"
QUALITY_RESULTS = "ops.quality_results"
INGESTED_FILES = "ops.ingested_files"


def table_names(registry: ContractRegistry) -> list[str]:
    """Every table a run writes (and a rollback restores); the ledger is never restored."""
    gold = [model.table for model in load_models()]
    return ["bronze.events", "quarantine.events", *registry.target_tables, *gold, INGESTED_FILES]


def published_tables(registry: ContractRegistry) -> list[str]:
    """What Trino serves: the run's tables, its ledger and its quality results."""
    return [*table_names(registry), LEDGER, QUALITY_RESULTS]


def path_of(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return settings.table_path(schema, name)
