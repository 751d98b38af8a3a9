"""lakehouse_backfill: curate the days of [start, end) one after another.

Trigger it with the params `start` and `end` (end exclusive), and `days_per_run` (1: a
run per day, as the daily DAG makes them; more: fewer, larger runs that leave the same
tables, faster). One spark-submit runs the windows in order in one driver — never two
windows at once on the same tables — and stops at the first failing one, naming it in
the log (later windows are not run). It
shares the `lakehouse_tables` pool (one slot) with the daily DAG, so a backfill and a
daily run never write at the same time. Days already curated with the same input and
definitions are skipped by the job itself.

    check_endpoints >> backfill >> publish >> report
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param
from lakehouse_tasks import DEFAULT_ARGS, check_endpoints, curate, publish, report_runs

RANGE = ["--start", "{{ params.start }}", "--end", "{{ params.end }}"]
WINDOWS = ["--days-per-run", "{{ params.days_per_run }}"]

with DAG(
    dag_id="lakehouse_backfill",
    description="Curate a range of days, one after another",
    schedule=None,
    start_date=datetime(2020, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "start": Param(type="string", format="date", description="first day, YYYY-MM-DD"),
        "end": Param(type="string", format="date", description="day after the last one, YYYY-MM-DD"),
        "days_per_run": Param(1, type="integer", minimum=1, description="days per run (window length)"),
    },
    tags=["lakehouse", "backfill"],
    doc_md=__doc__,
):
    (
        check_endpoints()
        >> curate("backfill", ["run", *RANGE, *WINDOWS], timedelta(hours=24))
        >> publish()
        >> report_runs(RANGE)
    )
