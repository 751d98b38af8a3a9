"""Shared pieces of the Superset tests: a logged-in REST client, a chart's saved query
run as the dashboard's date filter would run it, and days of the tests' own curated
into the served lake (the default warehouse, registered in Trino)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import requests
import yaml

from tests.conftest import ROOT

ASSETS = ROOT / "superset" / "assets"
SECRETS = ROOT / ".local" / "secrets.env"
DASHBOARDS = ("taxi-operations", "token-transfers", "pipeline-health")
# Two days of this session's own, in a year no other test takes: seeded by the day, so
# that their tokens are new to the served lake.
FIRST_DAY = date(2021, 1, 1) + timedelta(days=random.randrange(0, 360))
SERVED_DAYS = [FIRST_DAY, FIRST_DAY + timedelta(days=1)]
EVENTS = 6_000


def assets(kind: str) -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in sorted((ASSETS / kind).rglob("*.yaml"))]


def local_secret(name: str, secrets: Path = SECRETS) -> str:
    """As scripts/common.sh reads them: KEY=value lines in .local/secrets.env."""
    for line in secrets.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise AssertionError(f"{name} is not in {secrets}: run `make setup`")


class Superset:
    """A logged-in REST client: a JWT from /api/v1/security/login, plus the CSRF token
    that POSTs need."""

    def __init__(self, base_url: str, password: str):
        self.base_url = base_url
        self.http = requests.Session()
        login = self.http.post(
            f"{base_url}/api/v1/security/login",
            timeout=30,
            json={"username": "admin", "password": password, "provider": "db", "refresh": False},
        )
        assert login.status_code == 200, f"login to Superset failed: {login.status_code} {login.text[:300]}"
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        self.http.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]
        self.http.headers["Referer"] = base_url

    def get(self, path: str, **params) -> dict:
        response = self.http.get(self.base_url + path, params=params, timeout=120)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, timeout=180)

    def count(self, kind: str) -> int:
        return self.get(f"/api/v1/{kind}/", q="(page_size:1)")["count"]

    def names(self, kind: str, column: str) -> list[str]:
        result = self.get(f"/api/v1/{kind}/", q=f"(columns:!({column}),page_size:100)")["result"]
        return sorted(row[column] for row in result)

    def dashboard_charts(self, slug: str) -> list[dict]:
        charts = self.get(f"/api/v1/dashboard/{slug}/charts")["result"]
        return [self.get(f"/api/v1/chart/{chart['id']}")["result"] for chart in charts]


def one_day(day: date) -> str:
    """Superset's time range for one business date (the end is exclusive)."""
    return days_range([day])


def days_range(days: list[date]) -> str:
    """Superset's time range from the first of `days` to the last, included."""
    return f"{min(days)} : {max(days) + timedelta(days=1)}"


def chart_data(superset: Superset, chart: dict, time_range: str) -> list[dict]:
    """The chart's saved query, as the dashboard's date-range filter would run it.

    The dataset is named by the chart's own reference: `superset import-directory`
    leaves the saved query's datasource out (ids differ between Superset instances)."""
    assert chart["query_context"], f"chart {chart['slice_name']!r} has no saved query_context"
    context = json.loads(chart["query_context"])
    context["datasource"] = {"id": chart["datasource_id"], "type": chart["datasource_type"]}
    for one_query in context["queries"]:
        time_filters = [f for f in one_query["filters"] if f["op"] == "TEMPORAL_RANGE"]
        assert time_filters, f"chart {chart['slice_name']!r} has no date filter for the dashboard to set"
        for time_filter in time_filters:
            time_filter["val"] = time_range
    response = superset.post("/api/v1/chart/data", context)
    assert response.status_code == 200, f"chart {chart['slice_name']!r}: {response.status_code} {response.text[:500]}"
    (result,) = response.json()["result"]
    assert result.get("error") is None, f"chart {chart['slice_name']!r}: {result['error']}"
    return result["data"]


def curate_served_days(settings, days: list[date] = SERVED_DAYS) -> list[date]:
    """Generate small days into the raw bucket (as the upstream loader would) and curate
    each into the served lake; the run publishes the tables and views to Trino."""
    from generator.generate import GeneratorConfig, generate_day
    from generator.sinks import ObjectStoreBucket
    from jobs.curation.faults import FaultInjection
    from jobs.curation.job import run_window
    from jobs.curation.plan import RunWindow
    from tests.integration.lakehelpers import RATES

    sink = ObjectStoreBucket.as_loader(settings, settings.raw_bucket, "")
    # The served lake takes one run at a time: wait for another one (a DAG, a demo) to finish.
    patient = settings.with_overrides(lock_wait_seconds=1200)
    for day in days:
        generate_day(GeneratorConfig(day=day, events=EVENTS, seed=day.toordinal(), rates=RATES), sink, workers=2)
        run_window(patient, RunWindow(day, day + timedelta(days=1)), FaultInjection())
    return days
