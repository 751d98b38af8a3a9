"""lakehouse_maintain: keep the tables compact, once a week.

Daily MERGEs leave small files in every date they touch. One spark-submit of the job's
`maintain` command compacts each table (Delta OPTIMIZE), checkpoints its log and
vacuums the files no version of the last LAKEHOUSE_RETENTION_DAYS days reads (a run is
rolled back within that many days). It takes the `lakehouse_tables` pool's one slot, so
it never runs while a daily run or a backfill writes; the job's own lock guards the
rest. Files before and after, per table, are in its ledger row (kind `maintain`).

    check_endpoints >> maintain
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable
from lakehouse_tasks import DEFAULT_ARGS, check_endpoints, curate

with DAG(
    dag_id="lakehouse_maintain",
    description="Compact, checkpoint and vacuum the lakehouse tables",
    schedule=CronDataIntervalTimetable("0 3 * * 0", timezone="UTC"),  # Sundays 03:00, after the daily run
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["lakehouse", "maintenance"],
    doc_md=__doc__,
):
    check_endpoints() >> curate("maintain", ["maintain"], timedelta(hours=2))
