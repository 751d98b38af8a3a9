"""The bench's history: a warehouse of `history_days` days curated by one backfill, built
once and marked with what built it; and the check that MinIO's disk can take a bench."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from bench import room
from bench.scenario import Bench, code_commit, ensure_raw, lakehouse, log, scenario
from jobs.object_store import delete_prefix, s3_client
from jobs.raw_exists import raw_day_exists
from jobs.settings import Settings

TRASH_WAIT_SECONDS = 600  # MinIO freed 44 GB of deleted objects in about 3 minutes here


def ensure_history(settings: Settings, bench: Bench) -> tuple[Settings, dict]:
    """A warehouse holding the history days, curated by one backfill in windows of
    `history_days_per_run` days, built once; returns
    it with its marker (which commit built it: a history from older code may hold tables
    of an older layout, which the measured run would first migrate)."""
    history = history_scenario(settings, bench)
    ensure_raw(history, bench, bench.history_and_day)
    built = read_history_marker(settings, history)
    if built:
        if built.get("commit") != code_commit():
            log(
                f"the history was built by commit {built.get('commit')}, this is {code_commit()}: delete "
                f"s3a://{settings.lake_bucket}/{history.lake_key_prefix} to rebuild it with this code"
            )
        return history, built
    log(
        f"building the history [{bench.history_start}, {bench.day}) in {history.warehouse}: a backfill in "
        f"windows of {bench.history_days_per_run} day(s), once (a window already curated is skipped: same input "
        "fingerprint)"
    )
    seconds = lakehouse(
        history,
        "run",
        "--start",
        str(bench.history_start),
        "--end",
        str(bench.day),
        "--days-per-run",
        str(bench.history_days_per_run),
        progress="succeeded:",
    )
    log(f"history built in {seconds:.0f} s")
    built = {
        "days": bench.history_days,
        "days_per_run": bench.history_days_per_run,
        "events": bench.events,
        "seed": bench.seed,
        "commit": code_commit(),
        "seconds": round(seconds, 1),
    }
    write_history_marker(settings, history, built)
    return history, built


def history_scenario(settings: Settings, bench: Bench) -> Settings:
    return scenario(
        settings,
        bench.history_raw,
        f"bench/history-seed={bench.seed}-events={bench.events}-from={bench.history_start}"
        + (f"-window={bench.history_days_per_run}" if bench.history_days_per_run > 1 else ""),
    )


def history_marker_key(history: Settings) -> str:
    return f"{history.lake_key_prefix}_bench/complete.json"


def read_history_marker(settings: Settings, history: Settings) -> dict | None:
    """What the history's builder recorded (None: not built, or not to the end)."""
    client, key = s3_client(settings), history_marker_key(history)
    if not client.list_objects_v2(Bucket=settings.lake_bucket, Prefix=key, MaxKeys=1).get("KeyCount", 0):
        return None
    return json.loads(client.get_object(Bucket=settings.lake_bucket, Key=key)["Body"].read())


def write_history_marker(settings: Settings, history: Settings, marker: dict) -> None:
    s3_client(settings).put_object(
        Bucket=settings.lake_bucket, Key=history_marker_key(history), Body=json.dumps(marker)
    )


def mark_history_used(settings: Settings, history: Settings, marker: dict, stamp: str) -> None:
    """Before a bench measures (c) and (f) on the history itself: the next one must not take
    a warehouse holding the measured day, maintained, for the history (it builds it again)."""
    write_history_marker(settings, history, {**marker, "consumed": stamp})


def drop_consumed_history(settings: Settings, bench: Bench) -> None:
    """A history that a bench measured in place holds its measured day, maintained: the
    next bench deletes it (first, so that the room check counts its space) and builds it again."""
    history = history_scenario(settings, bench)
    built = read_history_marker(settings, history)
    if built and built.get("consumed"):
        log(f"the history was used in place by the bench of {built['consumed']}: deleting it to build it again")
        delete_prefix(settings, settings.lake_bucket, history.lake_key_prefix)


def check_room(settings: Settings, bench: Bench, scale: int, in_place: bool) -> None:
    """Stop before writing anything when MinIO's disk cannot take what this bench writes."""
    history = history_scenario(settings, bench)
    built = read_history_marker(settings, history)
    inputs = [(scenario(settings, bench.day_raw, ""), bench, [bench.day]), (history, bench, bench.history_and_day)]
    if scale:
        larger = replace(bench, events=bench.events * scale)
        inputs.append((scenario(settings, larger.day_raw, ""), larger, [bench.day]))
    to_generate = sum(b.events for target, b, days in inputs for day in days if not raw_day_exists(target, day))
    writes = room.bench_writes(
        bench.events,
        scale,
        bench.history_days * bench.events,
        history_built=bool(built and not built.get("consumed")),
        in_place=in_place,
        raw_missing_events=to_generate,
    )
    problem, waited = room.shortage(writes.bytes), 0
    while problem and (trash := room.trash_bytes()) and waited < TRASH_WAIT_SECONDS:  # freed lazily
        log(f"waiting for MinIO to free {trash / 2**30:.1f} GiB of objects deleted earlier")
        time.sleep(15)
        waited += 15
        problem = room.shortage(writes.bytes)
    if problem:
        raise SystemExit(f"bench: not started: {problem}")
    log(f"room: about {writes.bytes / 2**30:.0f} GiB to write, and the disk has it")
