"""`make capacity`: what a given volume of events a day needs, from throughput measured here.

    python -m bench.capacity [--window-hours 1] [--efficiency 0.6] [--days-queried 30]

Reads the last `make bench` (bench/results/latest.json: seconds per stage of a 1.3M-event
day, first run and after history, on this machine's cores), measures two more things on
the bench's history warehouse, and writes bench/results/capacity.json and capacity.md:

  storage  bytes per event of each layer: raw listed in MinIO; bronze, quarantine,
           silver, gold and ops as their tables' current snapshots (the files a reader
           reads: not those VACUUM keeps for rollback, which depend on when maintain ran);
  Trino    latency against bytes scanned: dashboard-style queries over 1, half and all of
           the history's days of each silver table, registered for the measurement in
           schemas of their own and dropped after; a line fitted through the points gives
           the fixed cost and the seconds per GB on this one-node Trino.

The model (`plan`) is arithmetic on those figures, with its assumptions as arguments: a
day's run finishes within `window_hours` on executors that scale at `efficiency` of this
machine's per-core rate; a query scanning `days_queried` days of silver answers within
`query_seconds`; storage is kept for `retention_days`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import SparkSession

from bench.scenario import RESULTS_DIR, log
from bench.trino_scratch import dashboard_query, plain_columns, registered, timed
from jobs.contracts import load_contracts
from jobs.curation import lake
from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.object_store import s3_client
from jobs.settings import Settings
from jobs.spark import build_spark_session
from jobs.trino_catalog import trino_connection

VOLUMES = (10_000_000, 100_000_000, 1_000_000_000)
LAYERS = ("bronze", "quarantine", "silver", "gold", "ops")
EXECUTOR_CORES = 4
EXECUTOR_MEMORY_GIB = 16  # 4 GiB per core: the driver here has 4 GiB for 2 cores
TRINO_WORKER_CORES = 16


@dataclass(frozen=True)
class Throughput:
    """Events per second per core of each part of the daily job, as measured here."""

    validate: float  # parse, contracts, bronze and quarantine writes: does not depend on history
    merge: float  # the silver MERGEs against history (after-history run)
    gold: float  # the gold models (after-history run)
    quality: float  # the GE gates (after-history run)
    fixed_seconds: float  # planning, the ingested-files ledger and the report: per run, not per event

    def core_seconds(self, events: int) -> float:
        return events * sum(1 / rate for rate in (self.validate, self.merge, self.gold, self.quality))


@dataclass(frozen=True)
class TrinoLatency:
    fixed_seconds: float  # a query's cost that does not depend on its bytes
    seconds_per_gb: float  # on this machine's one Trino node
    node_cores: int


@dataclass(frozen=True)
class Assumptions:
    window_hours: float
    efficiency: float
    days_queried: int
    query_seconds: float
    retention_days: int


def throughput(bench: dict) -> Throughput:
    """Per-core rates from a `make bench` result: the first run for what history does not
    change, the run after history for what it does."""
    events, cores = bench["lines_read"], bench["machine"]["cores"]
    first, steady = bench["stage_seconds"], bench["day31_stage_seconds"]

    def rate(stages: dict[str, float], chosen) -> float:
        seconds = sum(v for k, v in stages.items() if chosen(k))
        return events / (seconds * cores)

    return Throughput(
        validate=rate(first, lambda s: s in ("validate", "bronze", "quarantine")),
        merge=rate(steady, lambda s: s.startswith("silver.")),
        gold=rate(steady, lambda s: s == "gold"),
        quality=rate(steady, lambda s: s.startswith("quality")),
        fixed_seconds=sum(v for k, v in steady.items() if k in ("plan", "ingested_files")),
    )


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: (intercept, slope) of y against x."""
    n = len(points)
    mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return mean_y - slope * mean_x, slope


def plan(
    events_per_day: int,
    rates: Throughput,
    bytes_per_event: dict[str, float],
    latency: TrinoLatency,
    assume: Assumptions,
) -> dict:
    """What `events_per_day` needs: executors, Trino workers, storage."""
    window = assume.window_hours * 3600 - rates.fixed_seconds
    cores = math.ceil(rates.core_seconds(events_per_day) / (window * assume.efficiency))
    silver_gb = bytes_per_event["silver"] * events_per_day * assume.days_queried / 1e9
    # Trino splits a scan over every core of every worker; the fixed cost does not shrink
    scan_core_seconds = latency.seconds_per_gb * silver_gb * latency.node_cores
    budget = assume.query_seconds - latency.fixed_seconds
    trino_cores = math.ceil(scan_core_seconds / (budget * assume.efficiency))
    stored = sum(bytes_per_event.values()) * events_per_day * assume.retention_days
    return {
        "events_per_day": events_per_day,
        "executor_cores": cores,
        "executors": math.ceil(cores / EXECUTOR_CORES),
        "silver_gb_scanned": round(silver_gb, 1),
        "query_seconds_on_one_node": round(latency.fixed_seconds + latency.seconds_per_gb * silver_gb, 1),
        "trino_workers": max(1, math.ceil(trino_cores / TRINO_WORKER_CORES)),
        "daily_gb": round(sum(bytes_per_event.values()) * events_per_day / 1e9, 1),
        "stored_tb": round(stored / 1e12, 2),
    }


# -- the measurements --------------------------------------------------------------------------


def snapshot_bytes_by_layer(spark: SparkSession, warehouse: Settings, tables: list[str]) -> dict[str, int]:
    """{layer: bytes of its tables' current snapshots}; a table that does not exist counts 0."""
    paths = {table: path_of(warehouse, table) for table in tables}
    existing = lake.table_versions(spark, paths)
    sizes = dict.fromkeys(LAYERS, 0)
    for table in existing:
        sizes[table.split(".")[0]] += lake.snapshot_bytes(spark, paths[table])
    return sizes


def bytes_per_layer(settings: Settings, bench: dict, history: Settings) -> dict[str, float]:
    """Bytes per event of each layer: the raw days the history read, and its warehouse's tables."""
    client = s3_client(settings)

    def listed(bucket: str, prefix: str) -> int:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sum(obj["Size"] for page in pages for obj in page.get("Contents", []))

    days = bench["history_days"]  # the warehouse holds the days before the measured one
    events = bench["lines_read"] * days
    # ... and the measured day too when the bench ran it on the history itself
    stored = bench["lines_read"] * (days + 1) if bench.get("history_in_place") else events
    raw_bucket, raw_prefix = history.raw_bucket_and_prefix
    start = date.fromisoformat(bench["day"]) - timedelta(days=bench["history_days"])
    raw = sum(listed(raw_bucket, f"{raw_prefix}event_date={start + timedelta(days=i)}/") for i in range(days))
    spark = build_spark_session(settings, "capacity storage")
    try:
        tables = snapshot_bytes_by_layer(spark, history, Definitions.load(history).published_tables)
    finally:
        spark.stop()
    return {"raw": raw / events, **{layer: size / stored for layer, size in tables.items()}}


def trino_latency(settings: Settings, bench: dict, history: Settings) -> tuple[TrinoLatency, list[dict]]:
    """Register the history's silver tables, time queries over growing date ranges, and fit
    a line through (GB scanned, seconds)."""
    tables = sorted(load_contracts().target_tables)
    last = date.fromisoformat(bench["day"]) - timedelta(days=1)
    spans = sorted({1, max(1, bench["history_days"] // 2), bench["history_days"]})
    samples = []
    conn = trino_connection(settings)
    with registered(settings, history, "capacity_silver", tables) as names:
        for table in tables:
            columns = plain_columns(settings, names[table])
            for days in spans:
                sql = dashboard_query(names[table], columns, last - timedelta(days=days - 1), last)
                samples.append({"table": table.split(".", 1)[1], "days": days, **timed(conn, sql)})
    fixed, per_gb = fit_line([(s["gb"], s["seconds"]) for s in samples])
    return TrinoLatency(round(fixed, 3), round(per_gb, 3), bench["machine"]["cores"]), samples


# -- the report ----------------------------------------------------------------------------


def markdown(result: dict) -> str:
    rates, latency, assume = result["throughput"], result["trino"], result["assumptions"]
    lines = [
        f"# make capacity — from `make bench` of {result['bench_generated_at']} ({result['bench_commit']})",
        "",
        f"Measured on {result['cores']} cores: a {result['bench_events']:,}-event day, and its "
        f"{result['history_days']}-day history.",
        "",
        "| part of the daily job | events/s per core |",
        "|---|---:|",
        *(f"| {k} | {v:,.0f} |" for k, v in rates.items() if k != "fixed_seconds"),
        f"| fixed per run (plan, ingested files) | {rates['fixed_seconds']:.0f} s |",
        "",
        "| layer | bytes per event |",
        "|---|---:|",
        *(f"| {k} | {v:,.0f} |" for k, v in result["bytes_per_event"].items()),
        "",
        f"Trino, one node of {latency['node_cores']} cores: {latency['fixed_seconds']:.2f} s fixed + "
        f"{latency['seconds_per_gb']:.2f} s per GB scanned (fitted over {len(result['trino_samples'])} queries, "
        f"{min(s['gb'] for s in result['trino_samples']):.3f}–{max(s['gb'] for s in result['trino_samples']):.3f} GB).",
        "",
        f"Assumptions: a day's run within {assume['window_hours']} h; executors of {EXECUTOR_CORES} cores and "
        f"{EXECUTOR_MEMORY_GIB} GiB, Trino workers of {TRINO_WORKER_CORES} cores, both at "
        f"{assume['efficiency']:.0%} of this machine's per-core rate; a query over {assume['days_queried']} days "
        f"of silver within {assume['query_seconds']} s; storage kept {assume['retention_days']} days.",
        "",
        "| events a day | executor cores | executors | silver scanned per query | that query on one node "
        "| Trino workers | written a day | stored |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["plans"]:
        lines.append(
            f"| {row['events_per_day']:,} | {row['executor_cores']} | {row['executors']} | "
            f"{row['silver_gb_scanned']} GB | {row['query_seconds_on_one_node']} s | {row['trino_workers']} | "
            f"{row['daily_gb']} GB | {row['stored_tb']} TB |"
        )
    return "\n".join([*lines, ""])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="capacity", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window-hours", type=float, default=1.0)
    parser.add_argument("--efficiency", type=float, default=0.6)
    parser.add_argument("--days-queried", type=int, default=30)
    parser.add_argument("--query-seconds", type=float, default=10.0)
    parser.add_argument("--retention-days", type=int, default=365)
    args = parser.parse_args(argv)
    assume = Assumptions(args.window_hours, args.efficiency, args.days_queried, args.query_seconds, args.retention_days)
    source = RESULTS_DIR / "latest.json"
    if not source.exists():
        raise SystemExit(f"capacity: no {source}: run `make bench` first")
    bench = json.loads(source.read_text())
    settings = Settings.load()
    history = settings.with_overrides(warehouse=bench["history_warehouse"], raw_uri=bench["history_raw_uri"])
    rates = throughput(bench)
    log("capacity: bytes per event of each layer")
    sizes = bytes_per_layer(settings, bench, history)
    log("capacity: Trino latency against bytes scanned")
    started = time.monotonic()
    latency, samples = trino_latency(settings, bench, history)
    log(f"capacity: {len(samples)} queries in {time.monotonic() - started:.0f} s")
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench_generated_at": bench["generated_at"],
        "bench_commit": bench["commit"],
        "bench_events": bench["lines_read"],
        "history_days": bench["history_days"],
        "cores": bench["machine"]["cores"],
        "throughput": {k: round(v, 1) for k, v in asdict(rates).items()},
        "bytes_per_event": {k: round(v, 1) for k, v in sizes.items()},
        "trino": asdict(latency),
        "trino_samples": samples,
        "assumptions": asdict(assume),
        "plans": [plan(volume, rates, sizes, latency, assume) for volume in VOLUMES],
    }
    (RESULTS_DIR / "capacity.json").write_text(json.dumps(result, indent=2) + "\n")
    report = markdown(result)
    (RESULTS_DIR / "capacity.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
