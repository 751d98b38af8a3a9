"""A bench scenario: the measured day, its settings, and the `lakehouse` CLI run against it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from jobs.object_store import delete_prefix, s3_client
from jobs.raw_exists import raw_day_exists
from jobs.settings import PROJECT_ROOT, Settings

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
LAKEHOUSE = Path(sys.executable).with_name("lakehouse")
DEFAULT_EVENTS = 1_300_000


@dataclass(frozen=True)
class Bench:
    events: int
    seed: int
    day: date
    history_days: int
    history_days_per_run: int = 1  # the history's backfill: windows of this many days

    @property
    def history_start(self) -> date:
        return self.day - timedelta(days=self.history_days)

    @property
    def raw_key(self) -> str:
        return f"seed={self.seed}" + ("" if self.events == DEFAULT_EVENTS else f"-events={self.events}")

    @property
    def day_raw(self) -> str:  # the measured day alone: a fresh warehouse reads nothing else
        return f"bench/{self.raw_key}"

    @property
    def history_and_day(self) -> list[date]:
        return [self.history_start + timedelta(days=i) for i in range(self.history_days + 1)]

    @property
    def history_raw(self) -> str:  # the history days and the measured day
        return f"bench/history-{self.raw_key}"


def log(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} bench: {message}", flush=True)


def scenario(settings: Settings, raw: str, warehouse: str) -> Settings:
    """Settings of one bench scenario. Bench warehouses are not registered in Trino: the
    catalog serves the main warehouse."""
    return settings.with_overrides(
        raw_uri=f"s3a://{settings.raw_bucket}/{raw}",
        warehouse=f"s3a://{settings.lake_bucket}/{warehouse}",
        trino_register=False,
    )


def lakehouse(
    target: Settings, *args: str, progress: str | None = None, log_file: Path | None = None, java_options: str = ""
) -> float:
    """Run the `lakehouse` CLI against a scenario; returns its wall-clock seconds. Lines of
    its log that contain `progress` are shown as they come (a long backfill); `log_file`
    keeps the whole log; `java_options` go to the driver JVM."""
    env = {
        **os.environ,
        "LAKEHOUSE_RAW_URI": target.raw_uri,
        "LAKEHOUSE_WAREHOUSE": target.warehouse,
        "LAKEHOUSE_TRINO_REGISTER": "false",
        "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS": java_options,
    }
    started = time.monotonic()
    tail: list[str] = []
    with (
        subprocess.Popen(
            [str(LAKEHOUSE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process,
        open(log_file or os.devnull, "w") as kept,
    ):
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            tail = [*tail[-199:], line]
            kept.write(line)
            if progress and progress in line:
                log(line.rstrip())
    seconds = time.monotonic() - started
    if process.returncode != 0:
        sys.stdout.write("".join(tail))
        raise SystemExit(f"bench: `lakehouse {' '.join(args)}` failed (exit {process.returncode})")
    return seconds


def ensure_raw(target: Settings, bench: Bench, days: list[date]) -> None:
    for day in days:
        if raw_day_exists(target, day):
            continue
        log(f"generating {day}: {bench.events} events, seed {bench.seed} -> {target.raw_uri}")
        lakehouse(target, "generate", "--date", str(day), "--events", str(bench.events), "--seed", str(bench.seed))


def code_commit() -> str | None:
    """The commit the bench runs (and a history was built) with; None outside a git clone."""
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    return result.stdout.strip() or None


def drop_tables(settings: Settings, target: Settings) -> None:
    """Delete a measured warehouse's tables as soon as they are measured, all but its
    ledger (the report reads it at the end): a 30-day bench only fits on MinIO's disk so."""
    client = s3_client(settings)
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.lake_bucket, Prefix=target.lake_key_prefix, Delimiter="/"
    )
    for page in pages:
        for folder in page.get("CommonPrefixes", []):
            if folder["Prefix"] != f"{target.lake_key_prefix}ops/":
                delete_prefix(settings, settings.lake_bucket, folder["Prefix"])
