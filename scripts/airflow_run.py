"""make airflow-run DATE=D: trigger lakehouse_daily for the day D through the running
Airflow (its REST API, its scheduler, its LocalExecutor) and wait for the result.

Run with Airflow's interpreter and the local stack's environment (the Makefile loads
.local/secrets.env and .local/airflow/airflow.env). Prints each task's state and the
run id of the ledger row; exits 0 only if the DAG run succeeded."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, timedelta

FINISHED = {"success", "failed"}


class Airflow:
    def __init__(self, base_url: str, user: str, password: str):
        self.base_url = base_url.rstrip("/")
        token = self.call("POST", "/auth/token", {"username": user, "password": password}, auth=False)
        self.token = token["access_token"]

    def call(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {self.token}"} if auth else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"error: Airflow {method} {path}: HTTP {exc.code}: {exc.read().decode()[:500]}") from None
        except urllib.error.URLError as exc:
            raise SystemExit(f"error: Airflow at {self.base_url} is not reachable ({exc.reason}); make up") from None


def trigger_day(airflow: Airflow, dag_id: str, day: date) -> str:
    """One run whose data interval is the day [D, D+1)."""
    airflow.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    run_id = f"manual__{day}__{uuid.uuid4().hex[:8]}"
    start, end = f"{day}T00:00:00+00:00", f"{day + timedelta(days=1)}T00:00:00+00:00"
    airflow.call(
        "POST",
        f"/api/v2/dags/{dag_id}/dagRuns",
        {
            "dag_run_id": run_id,
            "logical_date": start,
            "data_interval_start": start,
            "data_interval_end": end,
            "note": "make airflow-run",
        },
    )
    return run_id


def wait(airflow: Airflow, dag_id: str, run_id: str, timeout: float) -> str:
    deadline, state, shown = time.monotonic() + timeout, "queued", ""
    while time.monotonic() < deadline:
        state = airflow.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
        tasks = airflow.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        line = ", ".join(
            f"{t['task_id']}={t['state'] or 'none'}" for t in sorted(tasks, key=lambda t: t["start_date"] or "~")
        )
        # The run's own state follows its last task's by a poll or so: a change of either is shown.
        if f"{state}: {line}" != shown:
            print(f"{time.strftime('%H:%M:%S')} {dag_id} {run_id}: {state}: {line}", flush=True)
            shown = f"{state}: {line}"
        if state in FINISHED:
            return state
        time.sleep(5)
    raise SystemExit(f"error: {dag_id} run {run_id} still {state} after {timeout:.0f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--dag", default="lakehouse_daily")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    airflow = Airflow(os.environ["AIRFLOW__API__BASE_URL"], "admin", os.environ["AIRFLOW_ADMIN_PASSWORD"])
    run_id = trigger_day(airflow, args.dag, args.date)
    print(f"triggered {args.dag} for [{args.date}, {args.date + timedelta(days=1)}): run {run_id}", flush=True)
    state = wait(airflow, args.dag, run_id, args.timeout)
    if state == "success":
        xcom = airflow.call(
            "GET", f"/api/v2/dags/{args.dag}/dagRuns/{run_id}/taskInstances/report/xcomEntries/return_value"
        )
        print(f"ledger run id: {xcom.get('value')}")
        return 0
    print(
        f"error: {args.dag} run {run_id} {state}; logs: {airflow.base_url}/dags/{args.dag}/runs/{run_id}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
