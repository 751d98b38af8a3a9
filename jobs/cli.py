"""The `lakehouse` command: every job, started the way production starts it (spark-submit)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from jobs.entrypoint import run_main
from jobs.preflight import check_endpoints
from jobs.settings import Settings
from jobs.spark import spark_submit_command
from jobs.trino_catalog import query, trino_connection

JOBS_DIR = Path(__file__).resolve().parent


def submit(settings: Settings, job_module: str, job_args: list[str]) -> int:
    """Run jobs/<job_module>.py through spark-submit with this project's Spark settings."""
    command = spark_submit_command(settings, JOBS_DIR / f"{job_module}.py", job_args)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    return subprocess.run(command, env=env).returncode


def display_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Decimal):
        return format(value, "f")  # never scientific notation: -0.000000000000000001
    return str(value)


def print_table(header: list[str], rows: list[list]) -> None:
    cells = [header, *[[display_value(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("smoke", help="write a Delta table with Spark and read it back through Trino")
    args = parser.parse_args(argv)
    handlers = {"smoke": smoke}
    return handlers[args.command](Settings.load(), args)


def entry() -> None:
    run_main(main)
