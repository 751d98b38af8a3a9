"""The `lakehouse` command: every job, started the way production starts it (spark-submit)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jobs.curation.plan import backfill_windows
from jobs.definitions import Definitions
from jobs.entrypoint import run_main
from jobs.errors import UsageError
from jobs.preflight import check_endpoints, watch_endpoints
from jobs.report import print_table
from jobs.settings import Settings
from jobs.spark import MALLOC_ARENAS, jvm_launch_conf, spark_submit_command
from jobs.trino_catalog import query, trino_connection

JOBS_DIR = Path(__file__).resolve().parent
INPUT_NOT_READY = 1  # `input-ready`: not yet (Airflow's sensor pokes again); 2 is an error


def submit(settings: Settings, job_module: str, job_args: list[str]) -> int:
    """Run jobs/<job_module>.py through spark-submit with this project's Spark settings."""
    command = spark_submit_command(settings, JOBS_DIR / f"{job_module}.py", job_args)
    env = {
        **MALLOC_ARENAS,  # unless the caller chose otherwise
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        # The endpoint watch's choice: the job writes through this endpoint alone.
        "LAKEHOUSE_S3_ENDPOINT": settings.s3_endpoint,
    }
    return subprocess.run(command, env=env).returncode


def smoke(settings: Settings, args: argparse.Namespace) -> int:
    # Checked here too, before a JVM starts: faster, and the message reaches the
    # terminal directly instead of through spark-submit's output pipe.
    check_endpoints(settings, buckets=[settings.lake_bucket], trino=True)
    code = submit(settings, "smoke", [])
    if code != 0:
        return code
    sql = "SELECT id, label, amount, observed_at FROM delta.ops.stack_smoke ORDER BY id"
    print(f"\nTrino ({settings.trino_host}:{settings.trino_port}) > {sql}")
    print_table(["id", "label", "amount", "observed_at"], query(trino_connection(settings), sql))
    return 0


def generate(settings: Settings, args: argparse.Namespace) -> int:
    try:  # a development tool beside the package: a clone has it, the jobs image does not
        from generator.defects import DefectRates
        from generator.generate import GeneratorConfig, generate_day
        from generator.sinks import LocalDirectory, ObjectStoreBucket, Sink
    except ModuleNotFoundError as exc:
        if exc.name != "generator":
            raise
        raise UsageError(
            "lakehouse generate: the generator is a development tool, in a clone of the project only"
        ) from None

    sink: Sink
    if args.out or not settings.raw_location.startswith("s3a://"):
        sink = LocalDirectory(Path(args.out or settings.raw_location.removeprefix("file://")))
    else:
        bucket, prefix = settings.raw_bucket_and_prefix
        check_endpoints(settings, buckets=[bucket], trino=False)
        sink = ObjectStoreBucket.as_loader(settings, bucket, prefix)
    rates = DefectRates.none() if args.no_defects else DefectRates().scaled(args.defect_scale)
    for offset in range(args.days):
        day = args.date + timedelta(days=offset)
        config = GeneratorConfig(
            day=day, events=args.events, seed=args.seed, rates=rates, definitions_dir=settings.definitions_dir
        )
        manifest = generate_day(config, sink)
        expected = manifest["expected"]
        print(
            f"{day}: {manifest['lines']['total']} lines in {manifest['files']['total']} files "
            f"({manifest['files']['bytes'] / 1e6:.1f} MB) to {sink.describe()} in "
            f"{manifest['seconds']:.1f} s; expected silver rows "
            + ", ".join(f"{t}={v['rows']}" for t, v in expected["silver"].items())
            + f"; quarantined {sum(expected['quarantine_by_reason'].values())}"
        )
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    """One window (--date D) or a sequential backfill (--start D1 --end D2), a day per run
    unless --days-per-run says more."""
    start, end = window_of(args)
    windows = backfill_windows(start, end, args.days_per_run)
    extra = ["--reprocess"] if args.reprocess else []
    if args.kill_after:
        extra += ["--kill-after", args.kill_after]
    if args.kill_during:
        extra += ["--kill-during", args.kill_during]
    settings, _ = watch_endpoints(
        settings, Definitions.load(settings), buckets=settings.run_buckets, trino=settings.trino_register
    )
    # A backfill is one spark-submit that runs its windows one after another (never in
    # parallel): each window is a run of its own, without a JVM start per window.
    code = submit(
        settings,
        "curation/job",
        [
            "run",
            "--start",
            str(start),
            "--end",
            str(end),
            *(["--days-per-run", str(args.days_per_run)] if len(windows) > 1 else []),
            *extra,
        ],
    )
    if code != 0 and len(windows) > 1:
        print(
            f"error: the backfill [{start}, {end}) failed (exit {code}); the log names the "
            "failed window, later windows were not run",
            file=sys.stderr,
        )
    return code


def window_of(args: argparse.Namespace) -> tuple[date, date]:
    """[start, end) from --date D, or from --start D1 --end D2."""
    if args.date:
        return args.date, args.date + timedelta(days=1)
    if not args.start or not args.end or args.end <= args.start:
        raise UsageError(f"lakehouse {args.command}: give --date D, or --start D1 --end D2 with D2 > D1")
    return args.start, args.end


def check(settings: Settings, args: argparse.Namespace) -> int:
    """The endpoint watch (Airflow's first task): one clear line either way; on success
    the last line is the object store endpoint the run is to use (the DAG's XCom)."""
    buckets = settings.run_buckets
    chosen, choice = watch_endpoints(settings, Definitions.load(settings), buckets=buckets, trino=True)
    if choice is None:
        print(f"endpoints ok: local warehouse {settings.warehouse}")
    else:
        print(
            f"endpoints ok: object store {choice.describe()} (buckets {', '.join(buckets)}), "
            f"Trino {settings.trino_host}:{settings.trino_port}"
        )
    print(chosen.s3_endpoint)
    return 0


def input_ready(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when every day of the window has its completion marker, 1 while some have not."""
    from jobs.landing import COMPLETE_MARKER, days_not_landed

    start, end = window_of(args)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    missing = days_not_landed(settings, days)
    if missing:
        print(
            f"input not complete: no {COMPLETE_MARKER} yet for {', '.join(map(str, missing))} "
            f"under {settings.raw_location}"
        )
        return INPUT_NOT_READY
    print(f"input complete: {', '.join(map(str, days))} under {settings.raw_location}")
    return 0


def last_run(settings: Settings, args: argparse.Namespace) -> int:
    """The ledger rows of a window's latest runs, through Trino; the last line is the newest run id."""
    start, end = window_of(args)
    rows = query(
        trino_connection(settings),
        f"""
        SELECT run_id, window_start, status, round(seconds, 1), element_at(counts, 'lines_read'),
               element_at(counts, 'inserted'), unchanged_since, error
        FROM ops.pipeline_runs
        WHERE kind = 'run' AND status <> 'running'
          AND window_start >= DATE '{start}' AND window_end <= DATE '{end}'
        ORDER BY started_at""",
    )
    if not rows:
        print(f"error: no finished run in the ledger for [{start}, {end})", file=sys.stderr)
        return 1
    latest: dict[date, list] = {row[1]: row for row in rows}  # the newest run of each day
    print_table(
        ["run", "window", "status", "seconds", "lines", "inserted", "unchanged since", "error"], list(latest.values())
    )
    failed = [row[0] for row in latest.values() if row[2] != "succeeded"]
    print(rows[-1][0])
    return 1 if failed else 0


def spark_properties(settings: Settings, args: argparse.Namespace) -> int:
    """The JVM-launch settings of the jobs as a spark-submit --properties-file (for Airflow)."""
    for key, value in jvm_launch_conf(settings).items():
        print(f"{key} {value}")
    return 0


def rollback(settings: Settings, args: argparse.Namespace) -> int:
    return submit(settings, "curation/job", ["rollback", "--run-id", args.run_id, *(["--force"] if args.force else [])])


def replay_quarantine(settings: Settings, args: argparse.Namespace) -> int:
    return submit(settings, "curation/job", ["replay-quarantine"])


def maintain(settings: Settings, args: argparse.Namespace) -> int:
    return submit(settings, "curation/job", ["maintain"])


def report(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.report import print_report

    check_endpoints(settings, buckets=[settings.lake_bucket], trino=True)
    print_report(settings, args.date)
    return 0


def publish(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.definitions import Definitions
    from jobs.publish import publish as publish_to_trino

    check_endpoints(settings, buckets=[settings.lake_bucket], trino=True)
    definitions = Definitions.load(settings)
    tables = [*definitions.published_tables, "ops.stack_smoke"]
    published = publish_to_trino(settings, tables, definitions.views_dir, definitions.gold_views)
    print(
        f"published {len(published['tables'])} tables and {len(published['views'])} views to Trino "
        f"({settings.trino_host}:{settings.trino_port})"
    )
    return 0


def docs(settings: Settings, args: argparse.Namespace) -> int:
    """Where the Data Docs of the quality gates are: each run's site in the lake, latest last."""
    if settings.uses_object_store:
        from jobs.object_store import s3_client

        prefix = f"{settings.lake_key_prefix}ops/data_docs/"
        listing = s3_client(settings).get_paginator("list_objects_v2")
        pages = listing.paginate(Bucket=settings.lake_bucket, Prefix=prefix)
        sites = sorted(
            (obj["LastModified"], f"s3://{settings.lake_bucket}/{obj['Key']}")
            for page in pages
            for obj in page.get("Contents", [])
            if obj["Key"].count("/") == prefix.count("/") + 1 and obj["Key"].endswith("/index.html")
        )
    else:
        root = Path(settings.warehouse.removeprefix("file://")) / "ops" / "data_docs"
        sites = sorted(
            (datetime.fromtimestamp(index.stat().st_mtime, UTC), index.resolve().as_uri())
            for index in root.glob("*/index.html")
        )
    for modified, where in sites[-args.last :]:
        print(f"{modified:%Y-%m-%d %H:%M:%S} UTC  {where}")
    if not sites:
        print(f"no Data Docs under {settings.warehouse.rstrip('/')}/ops/data_docs/ yet (make run)")
    return 0


def iso_date(text: str) -> date:
    return date.fromisoformat(text)


def positive_days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError(f"a number of days, at least 1: {text}")
    return days


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("smoke", help="write a Delta table with Spark and read it back through Trino")

    gen = commands.add_parser("generate", help="write days of enriched-event files with defects and ground truth")
    gen.add_argument("--date", type=iso_date, required=True, help="first day, YYYY-MM-DD")
    gen.add_argument("--days", type=int, default=1, help="consecutive days to generate")
    gen.add_argument("--events", type=int, default=1_300_000, help="events per day")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--out", help="a local directory instead of the raw-events bucket")
    gen.add_argument("--defect-scale", type=float, default=1.0, help="multiply the default defect rates")
    gen.add_argument("--no-defects", action="store_true", help="only valid, unique events")

    run_parser = commands.add_parser(
        "run", help="curate one day (--date) or a backfill (--start/--end) with spark-submit"
    )
    run_parser.add_argument("--date", type=iso_date, help="one day: the window [D, D+1)")
    run_parser.add_argument("--start", type=iso_date, help="first day of a backfill")
    run_parser.add_argument("--end", type=iso_date, help="end of a backfill (exclusive)")
    run_parser.add_argument(
        "--days-per-run",
        type=positive_days,
        default=1,
        help="a backfill's window length: 1 (a run per day, as the daily schedule) or more, for fewer, "
        "larger runs (the same tables, faster)",
    )
    run_parser.add_argument(
        "--reprocess", action="store_true", help="run a window again even if its files and definitions are unchanged"
    )
    run_parser.add_argument("--kill-after", help=argparse.SUPPRESS)
    run_parser.add_argument("--kill-during", help=argparse.SUPPRESS)
    rollback_parser = commands.add_parser("rollback", help="restore the tables to their versions before a run")
    rollback_parser.add_argument("--run-id", required=True)
    rollback_parser.add_argument("--force", action="store_true", help="even if later runs exist (undoes them too)")
    for name, text in (
        ("replay-quarantine", "re-validate quarantined lines after a contract fix"),
        ("maintain", "compact the tables (OPTIMIZE), checkpoint their logs, VACUUM beyond the retention"),
        ("publish", "create the Trino schemas, register every table, create the view models and serving views"),
        ("check", "check the object store and Trino a run needs (one line)"),
    ):
        commands.add_parser(name, help=text)
    for name, text in (
        ("input-ready", "exit 0 when each day of the window has its _SUCCESS marker, else 1"),
        ("last-run", "the ledger rows of a window's latest runs; the last line is the newest run id"),
    ):
        window_parser = commands.add_parser(name, help=text)
        window_parser.add_argument("--date", type=iso_date, help="one day: the window [D, D+1)")
        window_parser.add_argument("--start", type=iso_date)
        window_parser.add_argument("--end", type=iso_date, help="exclusive")
    commands.add_parser("spark-properties", help="the jobs' spark-submit settings as a --properties-file")
    report_parser = commands.add_parser("report", help="print what landed, queried through Trino")
    report_parser.add_argument("--date", type=iso_date, required=True)
    docs_parser = commands.add_parser("docs", help="where each run's Data Docs site is")
    docs_parser.add_argument("--last", type=int, default=5, help="how many runs' sites to list")

    args = parser.parse_args(argv)
    handlers = {
        "smoke": smoke,
        "generate": generate,
        "run": run,
        "rollback": rollback,
        "replay-quarantine": replay_quarantine,
        "maintain": maintain,
        "report": report,
        "publish": publish,
        "docs": docs,
        "check": check,
        "input-ready": input_ready,
        "last-run": last_run,
        "spark-properties": spark_properties,
    }
    return handlers[args.command](Settings.load(), args)


def entry() -> None:
    run_main(main)
