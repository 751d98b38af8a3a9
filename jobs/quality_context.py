"""Great Expectations' context for a run, built from the declared suites.

The checks are declared beside each table (jobs/checks.py). A run copies expectations/'s
project file (stores, Data Docs) and adds to it, per suite, a data source asset (pandas
for small batches, Spark for big ones), a validation definition and a checkpoint; the
gate (jobs/quality.py) runs the checkpoints.

    context = build_context(root, definitions.suites)
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.checks import GE_SEVERITY, Suite
from jobs.errors import LakehouseError
from jobs.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:  # GE takes seconds to import: only when it is needed (see import_in_background)
    from great_expectations.data_context import FileDataContext

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # before GE is imported: no telemetry

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"  # the GE project file: stores, Data Docs


def expectations_root(settings: Settings) -> Path:
    return Path(settings.expectations_dir) if settings.expectations_dir else EXPECTATIONS_DIR


def local_site_index(root: Path) -> Path:
    """GE's Data Docs site in a context directory (great_expectations.yml: local_site)."""
    return root / "uncommitted" / "data_docs" / "local_site" / "index.html"


def import_in_background() -> threading.Thread:
    """GE takes seconds to import: start it while Spark works on something else."""
    thread = threading.Thread(
        target=importlib.import_module, args=("great_expectations",), name="import-great-expectations", daemon=True
    )
    thread.start()
    return thread


# What GE reports of each expectation. Its counts (checked, unexpected) come with the
# pass that decides the expectation; a few example values of what failed take a second
# pass of their own (a second window over the batch for a uniqueness check). A pandas
# suite's batch is small: it keeps them for the Data Docs; a Spark suite's is a day of a
# large table: it reports the counts only (ops.quality_results records nothing more).
RESULT_FORMAT: dict[str, dict[str, Any]] = {
    "pandas": {"result_format": "SUMMARY"},
    "spark": {"result_format": "BASIC", "partial_unexpected_count": 0},
}


def build_context(root: Path, suites: list[Suite]) -> FileDataContext:
    """A file context at `root` (a copy of the project file) holding `suites`: GE gives
    every object its id."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity

    context = gx.get_context(mode="file", context_root_dir=str(root))
    pandas, spark = context.data_sources.add_pandas("lake"), context.data_sources.add_spark("lake_spark")
    for suite in suites:
        source = spark if suite.engine == "spark" else pandas
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("batch")
        try:
            expectations = [
                ExpectationConfiguration(
                    type=e.type, kwargs=dict(e.kwargs), severity=FailureSeverity(GE_SEVERITY[e.severity])
                ).to_domain_obj()
                for e in suite.expectations
            ]
        except Exception as exc:  # GE's errors for an unknown type or argument vary by type
            raise LakehouseError(f"{suite.where}: checks of {suite.name}: {exc}") from None
        declared = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=declared)
        )
        context.checkpoints.add(
            gx.Checkpoint(
                name=suite.name, validation_definitions=[definition], result_format=dict(RESULT_FORMAT[suite.engine])
            )
        )
    return context
