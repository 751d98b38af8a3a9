"""What a quality gate found: one row per expectation for ops.quality_results, the
failures that hold tables back, and the run's Data Docs site published to the lake.
Everything here reads GE's own result objects (jobs/quality.py runs the checks)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.settings import Settings

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

SEVERITY = {"critical": "error", "warning": "warn", "info": "warn"}  # GE's -> ours


RESULTS_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("checked_at", TimestampType(), False),
        StructField("window_start", DateType()),
        StructField("window_end", DateType()),
        StructField("layer", StringType(), False),
        StructField("suite", StringType(), False),
        StructField("table_name", StringType(), False),
        StructField("expectation_id", StringType(), False),
        StructField("expectation_type", StringType(), False),
        StructField("column_name", StringType()),
        StructField("kwargs", StringType()),
        StructField("severity", StringType(), False),  # error | warn
        StructField("success", BooleanType(), False),
        StructField("observed_value", StringType()),
        StructField("element_count", LongType()),
        StructField("unexpected_count", LongType()),
        StructField("unexpected_percent", DoubleType()),
        StructField("exception", StringType()),
    ]
)


@dataclass
class Outcome:
    """One checkpoint's result: GE's own result object for one suite."""

    layer: str
    suite: str
    table: str
    result: ExpectationSuiteValidationResult
    seconds: float


def failures_by_table(outcomes: list[Outcome], severity: str = "error") -> dict[str, list[str]]:
    """The failures of `failures`, per table checked (a volume suite counts for its table)."""
    by_table: dict[str, list[str]] = {}
    for outcome in outcomes:
        failed = failures([outcome], severity)
        if failed:
            by_table.setdefault(outcome.table, []).extend(failed)
    return by_table


def failures(outcomes: list[Outcome], severity: str = "error") -> list[str]:
    """`suite: expectation_type(column)` of each failed expectation of that severity."""
    failed = []
    for outcome in outcomes:
        for r in outcome.result.results:
            config = r.expectation_config
            assert config is not None  # GE sets it on every result of a suite it ran
            if not r.success and severity_of(config) == severity:
                failed.append(f"{outcome.suite}: {config.type}({describe_target(config.kwargs)})")
    return failed


def severity_of(config) -> str:
    raw = getattr(config.severity, "value", config.severity)
    return SEVERITY.get(str(raw), "error")


def describe_target(kwargs: dict) -> str:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return "table"


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def result_rows(run_id: str, window, outcomes: list[Outcome], checked_at: datetime | None = None) -> list[tuple]:
    """One ops.quality_results row per expectation per run, straight from GE's results."""
    checked_at = checked_at or datetime.now(UTC)
    rows = []
    for outcome in outcomes:
        for r in outcome.result.results:
            config, result = r.expectation_config, dict(r.result or {})
            assert config is not None  # GE sets it on every result of a suite it ran
            kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
            observed = result.get("observed_value")
            exception = (r.exception_info or {}).get("exception_message") if r.exception_info else None
            count = result.get("unexpected_count")
            rows.append(
                (
                    run_id,
                    checked_at,
                    window.start if window else None,
                    window.end if window else None,
                    outcome.layer,
                    outcome.suite,
                    outcome.table,
                    str(config.id),
                    config.type,
                    kwargs.get("column") or (", ".join(kwargs["column_list"]) if "column_list" in kwargs else None),
                    json.dumps(kwargs, sort_keys=True, default=str),
                    severity_of(config),
                    bool(r.success),
                    None if observed is None else json.dumps(observed, default=str),
                    int(result["element_count"]) if result.get("element_count") is not None else None,
                    int(count) if count is not None else None,
                    _number(result.get("unexpected_percent")),
                    exception,
                )
            )
    return rows


def publish_docs(settings: Settings, site_index: Path, run_id: str) -> str:
    """Copy the local site into the lake under ops/data_docs/<run_id>/; returns where."""
    site = site_index.parent
    target = f"{settings.warehouse.rstrip('/')}/ops/data_docs/{run_id}"
    if settings.uses_object_store:
        from jobs.object_store import s3_client

        client = s3_client(settings)
        bucket = settings.lake_bucket
        prefix = f"{settings.lake_key_prefix}ops/data_docs/{run_id}/"
        for path in sorted(p for p in site.rglob("*") if p.is_file()):
            kind = "text/html" if path.suffix == ".html" else "text/css" if path.suffix == ".css" else None
            extra = {"ContentType": kind} if kind else {}
            client.upload_file(str(path), bucket, prefix + path.relative_to(site).as_posix(), ExtraArgs=extra)
    else:
        local = Path(target.removeprefix("file://"))
        shutil.rmtree(local, ignore_errors=True)
        shutil.copytree(site, local)
    return f"{target}/index.html"
