"""lakehouse_daily: curate each day's enriched events, one run per data interval.

    check_endpoints >> wait_for_input >> curate >> publish >> report

- check_endpoints: the object store (buckets) and Trino answer (`lakehouse check`).
- wait_for_input: a sensor in reschedule mode until every day of the interval has the
  upstream loader's `_SUCCESS` marker; fails after LAKEHOUSE_INPUT_TIMEOUT_SECONDS.
- curate: one spark-submit of jobs/curation/job.py for [data_interval_start,
  data_interval_end): validation, bronze, quarantine, silver, the silver quality gate,
  the gold models and the gold gate, in one driver. They are one task, not four: each
  spark-submit costs a JVM start and the Delta snapshot loads (measured: see the README,
  "Orchestration"), the gates need the batch the run built, and a run is one atomic
  unit in the ledger that a retry repeats idempotently.
- publish: registers the tables and (re)creates the serving views in Trino; retried on
  its own when Trino is away, without curating again.
- report: the run's ledger row in the log, its run id in XCom.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable
from lakehouse_tasks import CATCHUP, DEFAULT_ARGS, WINDOW, check_endpoints, curate, publish, report_runs, wait_for_input

with DAG(
    dag_id="lakehouse_daily",
    description="Curate one day of enriched events into the lake and publish it to Trino",
    # A run per day whose data interval is that day: logical date D covers [D, D+1)
    # (Airflow 3's plain "@daily" gives a zero-length interval).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2020, 1, 1),
    catchup=CATCHUP,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=12),
    default_args=DEFAULT_ARGS,
    tags=["lakehouse", "daily"],
    doc_md=__doc__,
):
    (
        check_endpoints()
        >> wait_for_input()
        >> curate("curate", ["run", *WINDOW], timedelta(hours=2))
        >> publish()
        >> report_runs()
    )
