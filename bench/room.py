"""Room on MinIO's disk for a bench, checked before it writes anything.

A 30-day history measured at 4x the events needs about 46 GB at the bench's fullest. MinIO refuses writes on a
nearly full drive (HTTP 507), and it keeps the objects deleted earlier in
`.minio.sys/tmp/.trash` until it gets round to freeing them. A bench that runs out of
room at (g) has spent an hour and a half and reports nothing; so it estimates what it will write and
stops at once when the disk cannot hold it, saying how much is missing and where it went.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from jobs.settings import PROJECT_ROOT

# The local stack's MinIO keeps its objects here (scripts/stack.sh).
LOCAL_MINIO_DATA = PROJECT_ROOT / ".local" / "data" / "minio"
MINIO_TRASH = Path(".minio.sys") / "tmp" / ".trash"
# Measured: a 30-day history of 1.3M-event days, curated in 5-day windows, took 31 GB of
# lake (800 B an event); a 5.2M-event day's first run, about 4-5 GB. `lakehouse
# maintain` on that history added 13 GB: OPTIMIZE writes each table's files anew, and VACUUM
# keeps the old ones for `lakehouse rollback`. Generated raw events take 190 B each.
LAKE_BYTES_PER_EVENT = 800
MAINTAIN_GROWTH = 0.42  # of the history's events
RAW_BYTES_PER_EVENT = 200
# MinIO's own reserve on a drive, the logs, and what the estimate misses.
MARGIN_BYTES = 3 * 2**30


@dataclass(frozen=True)
class Writes:
    """What one bench invocation adds to the store at its fullest, in events."""

    curated: int  # events in the lake at the bench's fullest
    generated: int  # events generated into raw days not cached yet

    @property
    def bytes(self) -> int:
        return self.curated * LAKE_BYTES_PER_EVENT + self.generated * RAW_BYTES_PER_EVENT + MARGIN_BYTES


def bench_writes(
    events: int, scale: int, history_events: int, history_built: bool, in_place: bool, raw_missing_events: int
) -> Writes:
    """The events a bench curates (at its fullest) and generates. The history, if it has to
    be built, stays; then (a) and (g) are measured, and their tables deleted; then (c) adds
    the day to the history (or to a copy of it), (f) compacts it, and (d) writes naive
    Spark's table."""
    history = 0 if history_built else history_events
    first_and_scaled = events + scale * events
    copy = 0 if in_place else history_events
    day31_maintain_naive = copy + events + int(MAINTAIN_GROWTH * history_events) + events
    return Writes(history + max(first_and_scaled, day31_maintain_naive), raw_missing_events)


def directory_bytes(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(FileNotFoundError):  # freed while we looked
                total += (Path(folder) / name).stat().st_size
    return total


def trash_bytes(data_dir: Path = LOCAL_MINIO_DATA) -> int:
    """What MinIO still holds of objects deleted earlier (0 if it is not on this machine)."""
    return directory_bytes(data_dir / MINIO_TRASH) if data_dir.is_dir() else 0


def shortage(needed: int, data_dir: Path = LOCAL_MINIO_DATA) -> str | None:
    """Why the store's disk cannot take `needed` more bytes, or None if it can (or if the
    store is not on this machine: nothing to check)."""
    if not data_dir.is_dir():
        return None
    free = shutil.disk_usage(data_dir).free
    if free >= needed:
        return None
    trash = trash_bytes(data_dir)
    gib = 2**30
    return (
        f"the bench needs about {needed / gib:.0f} GiB on MinIO's disk and {free / gib:.0f} GiB are free "
        f"({data_dir}); MinIO still holds {trash / gib:.1f} GiB of deleted objects in {MINIO_TRASH}, which it "
        "frees lazily (with the stack down, deleting that folder frees them now). A smaller --history-days or "
        "--scale, or --history-in-place, needs less."
    )
