"""Which files a window reads: the files of its own folders and of the `grace_days`
folders before it (files that landed after their day's run) that no other window has
taken. A rerun of a window reads exactly the files it took the first time, plus any
new ones.

A window's input fingerprint names everything its result depends on: each file read
(path, size, ETag) and the definitions applied (contracts, expectations, gold models
and seeds, and the settings that change what a run keeps). A rerun with the fingerprint
of the window's last successful run would write exactly what is there: it is skipped."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from jobs.landing import COMPLETE_MARKER
from jobs.locations import raw_file_location
from jobs.object_store import s3_client
from jobs.settings import Settings

LANDING_FOLDER = re.compile(r"^event_date=(\d{4}-\d{2}-\d{2})/$")
DATA_FILE = re.compile(
    r"/event_date=\d{4}-\d{2}-\d{2}/hour=(?:[01]\d|2[0-3])/[A-Za-z0-9][A-Za-z0-9._-]*-\d+\.jsonl\.gz$"
)


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

    def landing_dates(self, grace_days: int) -> list[date]:
        """The landing folders a run of the window reads: the grace days', then its own."""
        return [*self.grace_dates(grace_days), *self.dates]

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


def backfill_windows(start: date, end: date, days_per_run: int) -> list[RunWindow]:
    """[start, end) cut into windows of `days_per_run` days (the last one may be shorter)."""
    if days_per_run < 1:
        raise ValueError(f"a backfill's windows are at least one day long (got {days_per_run})")
    starts = [start + timedelta(days=i) for i in range(0, (end - start).days, days_per_run)]
    return [RunWindow(first, min(first + timedelta(days=days_per_run), end)) for first in starts]


def folder_objects(settings: Settings, day: date) -> dict[str, str]:
    """Every object under one landing date's folder, named by `raw_file_location` (the
    name every table keeps), each with its version (size and ETag on the object store,
    size and modification time on a local disk)."""
    prefix = f"event_date={day.isoformat()}/"
    location = settings.raw_location
    if location.startswith("s3a://"):
        bucket, root = settings.raw_bucket_and_prefix
        paginator = s3_client(settings).get_paginator("list_objects_v2")
        return {
            f"s3a://{bucket}/{obj['Key']}": f"{obj['Size']}:{obj['ETag']}"
            for page in paginator.paginate(Bucket=bucket, Prefix=root + prefix)
            for obj in page.get("Contents", [])
        }
    directory = Path(location.removeprefix("file://"))
    return {
        raw_file_location(str(p)): f"{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in (directory / prefix).rglob("*")
        if p.is_file()
    }


def list_folder(settings: Settings, day: date) -> list[str]:
    """Data files of one landing date (those in the upstream layout), sorted."""
    return sorted(name for name in folder_objects(settings, day) if in_layout(name))


@dataclass(frozen=True)
class Landing:
    """What a window's landing folders (its grace days' and its own) hold, listed once:
    every object, named by `raw_file_location`, with its version. The files a run reads,
    what it skips and its input fingerprint all come from this one listing."""

    objects: dict[str, str]

    @classmethod
    def of(cls, settings: Settings, window: RunWindow) -> Landing:
        objects: dict[str, str] = {}
        for day in window.landing_dates(settings.grace_days):
            objects.update(folder_objects(settings, day))
        return cls(objects)

    @property
    def data_files(self) -> list[str]:
        """The data files (those in the upstream layout), sorted: by landing date, then name."""
        return sorted(name for name in self.objects if in_layout(name))


def files_for_window(landing: Landing, window: RunWindow, taken: dict[str, date]) -> list[str]:
    """`taken`: source file -> the window start that ingested it (ops.ingested_files)."""
    return [f for f in landing.data_files if taken.get(f, window.start) == window.start]


def outside_layout(settings: Settings, landing: Landing) -> list[str]:
    """What a run skips and reports: objects in its folders that are not data files of
    the layout (a bad hour folder, a temporary upload name), and folders beside the
    landing dates that are not one (`event_date=2024-6-1/`), which no window reads."""
    skipped = sorted(
        name for name in landing.objects if not in_layout(name) and not name.endswith("/" + COMPLETE_MARKER)
    )
    return skipped + [folder for folder in top_level_folders(settings) if not is_landing_folder(folder)]


def top_level_folders(settings: Settings) -> list[str]:
    """The folders at the raw location's top ('name/'), hidden ones (_x, .x) left out."""
    location = settings.raw_location
    if location.startswith("s3a://"):
        bucket, root = settings.raw_bucket_and_prefix
        paginator = s3_client(settings).get_paginator("list_objects_v2")
        names = [
            common["Prefix"][len(root) :]
            for page in paginator.paginate(Bucket=bucket, Prefix=root, Delimiter="/")
            for common in page.get("CommonPrefixes", [])
        ]
    else:
        root_dir = Path(location.removeprefix("file://"))
        names = [f"{p.name}/" for p in root_dir.iterdir() if p.is_dir()] if root_dir.is_dir() else []
    return sorted(name for name in names if not name.startswith(("_", ".")))


def is_landing_folder(folder: str) -> bool:
    match = LANDING_FOLDER.match(folder)
    if not match:
        return False
    try:
        date.fromisoformat(match[1])
    except ValueError:
        return False
    return True


def in_layout(name: str) -> bool:
    """event_date=YYYY-MM-DD/hour=HH/<collector_id>-<sequence>.jsonl.gz: the upstream layout."""
    return DATA_FILE.search(name) is not None


def input_fingerprint(settings: Settings, landing: Landing, files: list[str], definitions: list[Path]) -> str:
    """A hash of the files a window reads (with their versions), the definition files,
    and the settings that change what a run keeps."""
    digest = hashlib.sha256(f"grace_days={settings.grace_days} look_back_days={settings.look_back_days}\n".encode())
    for path in sorted(files):
        digest.update(f"{path} {landing.objects.get(path, 'gone')}\n".encode())
    for root in definitions:
        for file in sorted(p for p in root.rglob("*") if p.is_file() and "uncommitted" not in p.parts):
            digest.update(f"{file.relative_to(root)} ".encode() + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def repeatable_run(ledger_rows: list, window: RunWindow, fingerprint: str) -> str | None:
    """The run whose result a rerun of `window` would write again, if there is one.

    That is the window's latest run, if it succeeded with the same input fingerprint,
    was not rolled back, and no rollback came after it (`rollback --force` undoes later
    runs too). `ledger_rows`: ops.pipeline_runs rows of kind run and rollback."""
    runs = [r for r in ledger_rows if r.kind == "run" and r.window_start == window.start and r.window_end == window.end]
    if not runs:
        return None
    latest = max(runs, key=lambda r: r.started_at).run_id
    rows = [r for r in runs if r.run_id == latest]
    succeeded = [r for r in rows if r.status == "succeeded"]
    rolled_back = any(r.status == "rolled_back" for r in rows)
    started = min(r.started_at for r in rows)
    rollback_since = any(r.kind == "rollback" and r.started_at > started for r in ledger_rows)
    if not succeeded or rolled_back or rollback_since or succeeded[0].input_fingerprint != fingerprint:
        return None
    return succeeded[0].unchanged_since or latest
