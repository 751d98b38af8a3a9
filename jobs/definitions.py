"""What the project declares in files, loaded from the directories the settings name:
the contracts (each silver table's schema, physical properties and checks), the gold
models (SQL with a header holding theirs), the seeds the models read, and Trino's
serving views. A new source is new files here, no Python.

    models/                     the setting definitions_dir ("" means this project's)
      contracts/*.yaml            one per (event type, schema version); envelope/
      gold/*.sql                  one per gold table
      seeds/*.csv                 reference data, {{ seed.<name> }} in a model
    trino/views/*.sql           the setting views_dir: one per serving view
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.checks import Suite
from jobs.contract_model import ContractRegistry
from jobs.contracts import load_contracts
from jobs.curation.tables import INGESTED_FILES, LEDGER, QUALITY_RESULTS
from jobs.models import Model, load_models
from jobs.settings import PROJECT_ROOT, Settings

DEFINITIONS_DIR = PROJECT_ROOT / "models"
VIEWS_DIR = PROJECT_ROOT / "trino" / "views"


@dataclass(frozen=True)
class Definitions:
    root: Path
    views_dir: Path
    contracts: ContractRegistry
    models: tuple[Model, ...]  # in dependency order

    @classmethod
    def load(cls, settings: Settings) -> Definitions:
        root = Path(settings.definitions_dir) if settings.definitions_dir else DEFINITIONS_DIR
        views = Path(settings.views_dir) if settings.views_dir else VIEWS_DIR
        return cls(root, views, load_contracts(root / "contracts"), tuple(load_models(root / "gold")))

    @property
    def contracts_dir(self) -> Path:
        return self.root / "contracts"

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    def seed(self, name: str) -> Path:
        """The CSV of `{{ seed.<name> }}`."""
        return self.seeds_dir / f"{name}.csv"

    @property
    def directories(self) -> list[Path]:
        """Everything a run applies besides its input (a change makes the next run a full one)."""
        return [self.root]

    @property
    def gold_tables(self) -> list[str]:
        """The gold models written as tables (a run writes them, a rollback restores them)."""
        return [model.table for model in self.models if not model.is_view]

    @property
    def gold_views(self) -> list[Model]:
        """The gold models never written: Trino serves them as views."""
        return [model for model in self.models if model.is_view]

    def view_model(self, table: str) -> Model | None:
        return next((model for model in self.gold_views if model.table == table), None)

    @property
    def table_names(self) -> list[str]:
        """Every table a run writes (and a rollback restores); the ledger is never restored."""
        return ["bronze.events", "quarantine.events", *self.contracts.target_tables, *self.gold_tables, INGESTED_FILES]

    @property
    def published_tables(self) -> list[str]:
        """What Trino serves: the run's tables, its ledger and its quality results."""
        return [*self.table_names, LEDGER, QUALITY_RESULTS]

    @property
    def suites(self) -> list[Suite]:
        """Every table's quality suites: each silver table's current contract's, each gold model's."""
        registry = self.contracts
        silver = [suite for event_type in registry.event_types for suite in registry.current(event_type).checks]
        return silver + [suite for model in self.models for suite in model.checks]
