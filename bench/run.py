"""`make bench`: the daily job at 1.3M events, stage by stage, beside two baselines.

    python -m bench.run [--events 1300000] [--seed 42] [--day 2026-10-01] [--history-days 30]
                        [--history-days-per-run 5] [--scale 4]

A benchmark, not a test: it prints figures and asserts nothing. One invocation measures
  (a) our daily job end to end (`lakehouse run`: spark-submit, cold JVM, real MinIO) on a
      fresh warehouse: seconds per stage from the ledger, records/s, peak driver RSS;
  (b) the same window run again (an idempotent rerun);
  (c) the same day after `history_days` days of history (day31/day1), the history built by
      one backfill in windows of `history_days_per_run` days (its time: the backfill figure);
  (d) baseline 1, naive Spark: read the JSON, dropDuplicates(root_id), append to Delta;
  (e) baseline 2, DuckDB doing the same work as our validation pass, compiled from the same
      contracts (bench/duckdb_same_work.py): reasons, quarantine, conformed and upcast rows,
      in-window dedupe, Parquet out; and (e') the old light DuckDB query (envelope checks,
      dedup, a daily aggregate) as the single-node floor;
  (f) `lakehouse maintain` on the warehouse of (c): files per table and two dashboard
      queries' Trino latency, before and after (bench/maintenance.py);
  (g) the same day at `--scale` times the events (4 by default; 0 skips it), fresh.
It measures them in the order (a), (b), (g), (c), (f), (d), (e), and deletes the tables of
(a) and (g) once they are measured, before (f) compacts the history (a 30-day bench then
fits on a 50 GB disk). It writes bench/results/latest.json and latest.md. Before it writes
anything, it checks that MinIO's disk can take what it will write (bench/room.py), and
stops at once if not.

Cached between invocations (a fixed seed makes them reproducible):
  raw  s3a://<raw bucket>/bench/seed=S/                  the measured day alone  (seed=S-events=N
  raw  s3a://<raw bucket>/bench/history-seed=S/          the history days and    for another --events)
                                                         the measured day
  lake s3a://<lake bucket>/bench/history-seed=S-events=N-from=D[-window=W]/ the history days
       (one `lakehouse run --start --end --days-per-run W`, once; W=1 leaves "-window" out)
  .local/bench/raw/bench/seed=S/                         the measured day's files, for DuckDB
Each measured run gets a fresh warehouse under s3a://<lake bucket>/bench/runs/, deleted after.

Here: the measurements in order and the report's figures. Beside it: bench/scenario.py (a
scenario's settings, the `lakehouse` CLI run against it), bench/history.py (the history and
the room check), bench/baselines.py (naive Spark, the DuckDB floor).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from bench import duckdb_same_work
from bench.baselines import duckdb_floor, local_copy, naive_spark, readable_files, same_counts
from bench.history import check_room, drop_consumed_history, ensure_history, mark_history_used
from bench.maintenance import measure
from bench.report import markdown
from bench.scenario import (
    DEFAULT_EVENTS,
    RESULTS_DIR,
    Bench,
    code_commit,
    drop_tables,
    ensure_raw,
    lakehouse,
    log,
    scenario,
)
from jobs.contracts import load_contracts
from jobs.object_store import copy_prefix, delete_prefix
from jobs.settings import PROJECT_ROOT, Settings

LOCAL_DUCKDB_OUT = PROJECT_ROOT / ".local" / "bench" / "duckdb"


def succeeded_runs(settings: Settings, warehouses: dict[str, Settings]) -> dict[str, list[dict]]:
    """The succeeded ledger rows of each measured warehouse, oldest first."""
    from pyspark.sql import functions as F

    from jobs.spark import build_spark_session

    spark = build_spark_session(settings, "bench ledger")
    rows = {}
    for name, target in warehouses.items():
        ledger = spark.read.format("delta").load(target.table_path("ops", "pipeline_runs"))
        rows[name] = [
            row.asDict(recursive=True)
            for row in ledger.where(F.col("status") == "succeeded").orderBy("finished_at").collect()
        ]
    spark.stop()
    return rows


# -- the report ----------------------------------------------------------------------------


def machine() -> dict:
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cores": os.cpu_count(), "memory_bytes": memory, "cpu": cpu, "os": platform.platform()}


def versions(settings: Settings) -> dict:
    return {
        "python": platform.python_version(),
        **{p: version(p) for p in ("pyspark", "delta-spark", "great-expectations", "duckdb", "pyarrow", "pandas")},
        "delta_jvm": settings.versions.delta,
        "hadoop_aws": settings.versions.hadoop_aws,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument(
        "--history-days-per-run",
        type=int,
        default=5,
        help="build the history as a backfill in windows of this many days (lakehouse run --days-per-run)",
    )
    parser.add_argument(
        "--history-in-place",
        action="store_true",
        help="measure (c) and (f) on the history warehouse itself, not on a copy (a disk that cannot hold a "
        "30-day history twice); the history is then marked used, and the next invocation builds it again",
    )
    parser.add_argument("--prepare", action="store_true", help="only generate the data and build the history")
    parser.add_argument(
        "--scale",
        type=int,
        default=4,
        help="also run a fresh first run of a day this many times larger (0: skip): the cost must grow no "
        "faster than the data",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record the first run with Java Flight Recorder and summarise it per stage "
        "(bench/results/first-run.jfr; adds a few per cent to that run)",
    )
    args = parser.parse_args(argv)
    bench = Bench(args.events, args.seed, args.day, args.history_days, args.history_days_per_run)
    settings = Settings.load()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")

    drop_consumed_history(settings, bench)
    check_room(settings, bench, args.scale if args.scale > 1 else 0, args.history_in_place)
    runs_prefix = f"bench/runs/{stamp}"
    single = scenario(settings, bench.day_raw, f"{runs_prefix}/first")
    ensure_raw(single, bench, [bench.day])
    history, history_marker = ensure_history(settings, bench)
    if args.prepare:
        return 0
    after_history = (
        history if args.history_in_place else scenario(settings, bench.history_raw, f"{runs_prefix}/after-history")
    )
    local_files = local_copy(settings, single, bench.day)
    larger = replace(bench, events=bench.events * args.scale) if args.scale > 1 else None
    scaled = scenario(settings, larger.day_raw, f"{runs_prefix}/scaled") if larger else None
    if larger and scaled:
        ensure_raw(scaled, larger, [bench.day])
    try:
        log(f"(a) first run of {bench.day} on a fresh warehouse")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        recording = RESULTS_DIR / "first-run.jfr"
        recording.unlink(missing_ok=True)
        java = f"-XX:StartFlightRecording=filename={recording},settings=profile" if args.profile else ""
        first = lakehouse(
            single, "run", "--date", str(bench.day), log_file=RESULTS_DIR / "first-run.log", java_options=java
        )
        log(f"(a) {first:.1f} s; (b) the same window again")
        rerun = lakehouse(single, "run", "--date", str(bench.day))
        log(f"(b) {rerun:.1f} s")
        drop_tables(settings, single)  # its ledger stays, for the report
        scaled_seconds, scaled_failure = None, None
        if larger and scaled:
            log(f"(g) first run of the same day at {args.scale}x the events ({larger.events:,})")
            try:
                scaled_seconds = lakehouse(scaled, "run", "--date", str(bench.day))
                log(f"(g) {scaled_seconds:.1f} s")
            except SystemExit as failure:  # the others are still measured and reported
                scaled_failure = str(failure)
                log(f"(g) failed: {scaled_failure}")
            drop_tables(settings, scaled)  # room for (f), which compacts the history
        log(f"(c) {bench.day} after {bench.history_days} days of history")
        if args.history_in_place:
            mark_history_used(settings, history, history_marker, stamp)
        else:
            copy_prefix(settings, settings.lake_bucket, history.lake_key_prefix, after_history.lake_key_prefix)
        day31 = lakehouse(after_history, "run", "--date", str(bench.day), log_file=RESULTS_DIR / "after-history.log")
        log(f"(c) {day31:.1f} s; (f) table maintenance on that warehouse, with Trino before and after")
        maintenance = measure(
            settings, after_history, (bench.history_start, bench.day), lambda: lakehouse(after_history, "maintain")
        )
        log(f"(f) maintain {maintenance['maintain_seconds']:.1f} s; (d) naive Spark")
        naive = naive_spark(settings, scenario(settings, bench.day_raw, f"{runs_prefix}/naive"), bench.day)
        log(f"(d) {naive:.1f} s; (e) DuckDB, the same work")
        same_work, duck_counts = duckdb_same_work.run(
            [str(p) for p in sorted(local_files.glob("*/*.jsonl.gz"))], load_contracts(), LOCAL_DUCKDB_OUT
        )
        log(f"(e) {same_work:.1f} s ({duck_counts}); (e') DuckDB, the single-node floor")
        floor_files = readable_files(local_files)
        floor, floor_events = duckdb_floor(floor_files)
        log(f"(e') {floor:.1f} s ({floor_events} events kept from {len(floor_files)} readable files)")
        ledgers = succeeded_runs(
            settings,
            {
                "single": single,
                "after_history": after_history,
                "history": history,
                **({"scaled": scaled} if scaled and scaled_seconds is not None else {}),
            },
        )
    finally:
        delete_prefix(settings, settings.lake_bucket, f"{settings.lake_key_prefix}{runs_prefix}/")
    first_run, rerun_run = ledgers["single"]
    day31_run = [r for r in ledgers["after_history"] if r["kind"] == "run"][-1]
    maintain_run = [r for r in ledgers["after_history"] if r["kind"] == "maintain"][-1]
    maintenance["files"] = {
        key.removeprefix("files_before:"): [count, maintain_run["counts"][key.replace("before", "after")]]
        for key, count in sorted(maintain_run["counts"].items())
        if key.startswith("files_before:")
    }

    stage_seconds = first_run["stage_seconds"]
    quality = sum(v for k, v in stage_seconds.items() if k.startswith("quality"))
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": bench.events,
        "seed": bench.seed,
        "day": str(bench.day),
        "history_days": bench.history_days,
        "history_warehouse": history.warehouse,
        "history_raw_uri": history.raw_uri,
        "history_in_place": args.history_in_place,  # (c) and (f) ran on the history itself, not a copy
        "lines_read": first_run["counts"]["lines_read"],
        "e2e_seconds": round(first, 2),
        "rerun_seconds": round(rerun, 2),
        "day1_seconds": round(first, 2),
        "day31_seconds": round(day31, 2),
        "naive_spark_seconds": round(naive, 2),
        "duckdb_seconds": round(same_work, 2),
        "duckdb_counts": duck_counts,
        "duckdb_same_counts": same_counts(first_run["counts"], duck_counts),
        "duckdb_floor_seconds": round(floor, 2),
        "peak_rss_bytes": first_run["peak_rss_bytes"],
        "records_per_second": round(first_run["counts"]["lines_read"] / first, 1),
        "job_seconds": first_run["seconds"],
        "stage_seconds": stage_seconds,
        "rerun_stage_seconds": rerun_run["stage_seconds"],
        "rerun_skipped": rerun_run["unchanged_since"] == first_run["run_id"],
        "day31_stage_seconds": day31_run["stage_seconds"],
        # each run of the history's backfill, oldest first: whether the cost grows as history does
        "history_run_seconds": {
            str(r["window_start"]): round(r["seconds"], 1)
            for r in ledgers["history"]
            if r["kind"] == "run" and not r["unchanged_since"] and str(r["window_start"]) < str(bench.day)
        },
        "maintenance": maintenance,
        "scaling": None
        if larger is None
        else {"factor": args.scale, "events": larger.events, "failed": scaled_failure}
        if scaled_seconds is None
        else {
            "factor": args.scale,
            "events": larger.events if larger else None,
            "seconds": round(scaled_seconds, 2),
            "peak_rss_bytes": ledgers["scaled"][-1]["peak_rss_bytes"],
            "stage_seconds": ledgers["scaled"][-1]["stage_seconds"],
        },
        "quality_seconds": round(quality, 2),
        "quality_share": round(quality / sum(stage_seconds.values()), 4),
        "quality_share_of_e2e": round(quality / first, 4),
        "counts": first_run["counts"],
        "commit": code_commit(),
        "history_built_by_commit": history_marker.get("commit"),
        "machine": machine(),
        "versions": versions(settings),
        "settings": {
            "spark_master": settings.spark_master,
            "spark_driver_memory": settings.spark_driver_memory,
            "spark_shuffle_partitions": settings.spark_shuffle_partitions,
            "grace_days": settings.grace_days,
            "look_back_days": settings.look_back_days,
            "profiled": args.profile,
        },
    }
    if args.profile:
        from bench.jfr_summary import summarise

        result["profile"] = summarise(recording, (RESULTS_DIR / "first-run.log").read_text().splitlines())
    result["ratios"] = {
        "ours/duckdb": ratio(first, same_work),
        "ours/duckdb_floor": ratio(first, floor),
        "ours/naive_spark": ratio(first, naive),
        "rerun/first": ratio(rerun, first),
        "day31/day1": ratio(day31, first),
        "scaled/first": ratio(scaled_seconds, first),
    }
    # the backfill's wall clock (spark-submit included) when its marker has it, else its runs' sum
    history_seconds = history_marker.get("seconds") or sum(result["history_run_seconds"].values())
    result["targets"] = {
        "e2e <= 60 s": f"{first:.1f} s",
        "ours/naive <= 2.0": str(result["ratios"]["ours/naive_spark"]),
        "rerun <= 50% of first": f"{result['ratios']['rerun/first']:.0%}",
        f"day{bench.history_days + 1}/day1 <= 1.2": str(result["ratios"]["day31/day1"]),
        "peak driver RSS <= 3 GiB": f"{result['peak_rss_bytes'] / 2**30:.2f} GiB",
        # (g) only when it was measured (--scale 0 skips it)
        **(
            {f"{args.scale}x events <= {0.875 * args.scale:.1f}x the time": str(result["ratios"]["scaled/first"])}
            if scaled_seconds is not None
            else {}
        ),
        f"{bench.history_days}-day backfill in {history_marker.get('days_per_run', 1)}-day runs (built by "
        f"{history_marker.get('commit')}) <= {bench.history_days} min": f"{history_seconds / 60:.1f} min",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    report = markdown(result)
    (RESULTS_DIR / "latest.md").write_text(report)
    print(report)
    log(f"written {RESULTS_DIR / 'latest.json'} and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
