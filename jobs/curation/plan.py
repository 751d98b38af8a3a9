"""Which files a window reads: the files of its own folders and of the `grace_days`
folders before it (files that landed after their day's run) that no other window has
taken. A rerun of a window reads exactly the files it took the first time, plus any
new ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from jobs.object_store import s3_client
from jobs.settings import Settings


@dataclass(frozen=True)
class RunWindow:
    start: date
    end: date  # exclusive

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError(f"empty window [{self.start}, {self.end})")

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    def grace_dates(self, grace_days: int) -> list[date]:
        return [self.start - timedelta(days=i) for i in range(grace_days, 0, -1)]

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


def list_folder(settings: Settings, day: date) -> list[str]:
    """Data files of one landing date, as Spark paths, sorted."""
    prefix = f"event_date={day.isoformat()}/"
    location = settings.raw_location
    if location.startswith("s3a://"):
        bucket, root = settings.raw_bucket_and_prefix
        prefix = root + prefix
        paginator = s3_client(settings).get_paginator("list_objects_v2")
        keys = [obj["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                for obj in page.get("Contents", [])]
        return sorted(f"s3a://{bucket}/{key}" for key in keys if key.endswith(".jsonl.gz"))
    root = Path(location.removeprefix("file://"))
    return sorted(str(p) for p in (root / prefix).glob("hour=*/*.jsonl.gz"))


def files_for_window(settings: Settings, window: RunWindow, taken: dict[str, date]) -> list[str]:
    """`taken`: source file -> the window start that ingested it (ops.ingested_files)."""
    days = [*window.grace_dates(settings.grace_days), *window.dates]
    return [f for day in days for f in list_folder(settings, day) if taken.get(f, window.start) == window.start]
