"""Superset, for real: the dashboards under superset/assets imported into the running
Superset (make up), every chart's data through its REST API, and one number on the
dashboard against the same figure straight from Trino. Superset is part of the stack:
if it is not up, these tests fail."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
import pytest
import requests
import yaml

from jobs.trino_catalog import query
from tests.conftest import ROOT, run

pytestmark = pytest.mark.integration

ASSETS = ROOT / "superset" / "assets"
VIEWS = ROOT / "trino" / "views"
SECRETS = ROOT / ".local" / "secrets.env"
DASHBOARD = "taxi-operations"


def assets(kind: str) -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in sorted((ASSETS / kind).rglob("*.yaml"))]


def local_secret(name: str) -> str:
    """As scripts/common.sh reads them: KEY=value lines in .local/secrets.env."""
    for line in SECRETS.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise AssertionError(f"{name} is not in {SECRETS}: run `make setup`")


class Superset:
    """A logged-in REST client: a JWT from /api/v1/security/login, plus the CSRF token
    that POSTs need."""

    def __init__(self, base_url: str, password: str):
        self.base_url = base_url
        self.http = requests.Session()
        login = self.http.post(f"{base_url}/api/v1/security/login", timeout=30, json={
            "username": "admin", "password": password, "provider": "db", "refresh": False})
        assert login.status_code == 200, f"login to Superset failed: {login.status_code} {login.text[:300]}"
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        self.http.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]
        self.http.headers["Referer"] = base_url

    def get(self, path: str, **params) -> dict:
        response = self.http.get(self.base_url + path, params=params, timeout=120)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, timeout=120)

    def count(self, kind: str) -> int:
        return self.get(f"/api/v1/{kind}/", q="(page_size:1)")["count"]

    def names(self, kind: str, column: str) -> list[str]:
        result = self.get(f"/api/v1/{kind}/", q=f"(columns:!({column}),page_size:100)")["result"]
        return sorted(row[column] for row in result)


@pytest.fixture(scope="module")
def superset() -> Superset:
    port = os.environ.get("SUPERSET_PORT", "8088")
    base_url = f"http://127.0.0.1:{port}"
    try:
        health = requests.get(f"{base_url}/health", timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"Superset is not running on {base_url}: `make up` starts it")
    assert health.status_code == 200 and health.text.strip() == "OK"
    return Superset(base_url, local_secret("SUPERSET_ADMIN_PASSWORD"))


@pytest.fixture(scope="module")
def curated_days(trino_conn) -> list[date]:
    """The last two days that a daily run curated into the served lake (its ledger)."""
    rows = query(trino_conn, "SELECT DISTINCT window_start FROM ops.pipeline_runs WHERE status = 'succeeded' "
                             "AND window_end = window_start + INTERVAL '1' DAY ORDER BY window_start DESC LIMIT 2")
    assert rows, "no day has been curated into the served lake: run `make run DATE=...` first"
    return [row[0] for row in rows]


@pytest.fixture(scope="module")
def trips_chart(dashboard_charts) -> dict:
    (chart,) = [chart for chart in dashboard_charts if chart["slice_name"] == "Trips"]
    return chart


@pytest.fixture(scope="module")
def dashboard_charts(superset) -> list[dict]:
    charts = superset.get(f"/api/v1/dashboard/{DASHBOARD}/charts")["result"]
    assert charts, f"the dashboard {DASHBOARD} has no charts"
    return [superset.get(f"/api/v1/chart/{chart['id']}")["result"] for chart in charts]


def one_day(day: date) -> str:
    """Superset's time range for one business date (the end is exclusive)."""
    return f"{day} : {day + timedelta(days=1)}"


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
    assert response.status_code == 200, (
        f"chart {chart['slice_name']!r}: {response.status_code} {response.text[:500]}")
    (result,) = response.json()["result"]
    assert result.get("error") is None, f"chart {chart['slice_name']!r}: {result['error']}"
    return result["data"]


# -- the assets as committed --------------------------------------------------------------

def test_the_committed_database_names_no_server_and_no_secret():
    (database,) = assets("databases")
    assert database["sqlalchemy_uri"] == "__TRINO_URI__"
    assert "password" not in database and "encrypted_extra" not in database


def test_every_dataset_is_a_trino_view_under_trino_views():
    datasets = assets("datasets")
    assert datasets
    for dataset in datasets:
        assert dataset["sql"] is None, f"{dataset['table_name']}: SQL belongs in a view, not in Superset"
        view = VIEWS / f"{dataset['schema']}.{dataset['table_name']}.sql"
        assert view.exists(), f"dataset {dataset['table_name']} has no view {view.relative_to(ROOT)}"


# -- the running Superset -------------------------------------------------------------------

def test_importing_twice_leaves_the_same_objects(superset):
    kinds = ("dashboard", "chart", "dataset", "database")
    counts = []
    for _ in range(2):
        result = run(["bash", "scripts/superset.sh", "import"], timeout=300)
        assert result.returncode == 0, result.stderr
        counts.append({kind: superset.count(kind) for kind in kinds})
    assert counts[0] == counts[1]
    # ... and what is there is what is committed, once each.
    assert superset.names("dashboard", "dashboard_title").count("Taxi operations") == 1
    charts = superset.names("chart", "slice_name")
    for chart in assets("charts"):
        assert charts.count(chart["slice_name"]) == 1, chart["slice_name"]
    datasets = superset.names("dataset", "table_name")
    for dataset in assets("datasets"):
        assert datasets.count(dataset["table_name"]) == 1, dataset["table_name"]


def test_the_dashboard_shows_every_committed_chart(dashboard_charts):
    committed = {chart["uuid"] for chart in assets("charts")}
    (dashboard,) = assets("dashboards")
    on_dashboard = {item["meta"]["uuid"] for item in dashboard["position"].values()
                    if isinstance(item, dict) and item.get("type") == "CHART"}
    assert on_dashboard == committed
    assert len(dashboard_charts) == len(committed)


def test_the_dashboard_has_a_date_range_filter(superset):
    dashboard = superset.get(f"/api/v1/dashboard/{DASHBOARD}")["result"]
    filters = json.loads(dashboard["json_metadata"])["native_filter_configuration"]
    assert [f["filterType"] for f in filters] == ["filter_time"]


def test_superset_reads_trino_as_the_analyst(superset):
    (database,) = superset.get("/api/v1/database/", q="(page_size:100)")["result"]
    detail = superset.get(f"/api/v1/database/{database['id']}/connection")["result"]
    assert detail["sqlalchemy_uri"].startswith("trino://analyst@127.0.0.1:")


def test_every_chart_returns_rows_for_each_curated_day(superset, dashboard_charts, curated_days):
    for day in curated_days:
        empty = [chart["slice_name"] for chart in dashboard_charts if not chart_data(superset, chart, one_day(day))]
        assert not empty, f"charts with no rows on {day}: {empty}"


def trips_in_trino(trino_conn, where: str = "") -> int:
    # Straight from the fact table, not through the view the chart reads.
    return query(trino_conn, f"SELECT count(*) FROM gold.fct_taxi_trips {where}")[0][0]


def test_trips_on_the_dashboard_equal_the_trips_in_trino(superset, trips_chart, trino_conn, curated_days):
    for day in curated_days:
        (row,) = chart_data(superset, trips_chart, one_day(day))
        assert row["trips"] == trips_in_trino(trino_conn, f"WHERE business_date = DATE '{day}'") > 0, day


def test_the_date_filter_narrows_the_charts(superset, trips_chart, trino_conn, curated_days):
    (unfiltered,) = chart_data(superset, trips_chart, "No filter")
    assert unfiltered["trips"] == trips_in_trino(trino_conn)
    (one,) = chart_data(superset, trips_chart, one_day(curated_days[0]))
    assert 0 < one["trips"] < unfiltered["trips"]


def sql_lab(superset: Superset, sql: str) -> requests.Response:
    (database,) = superset.get("/api/v1/database/", q="(page_size:100)")["result"]
    return superset.post("/api/v1/sqllab/execute/", {
        "database_id": database["id"], "sql": sql, "runAsync": False, "catalog": "delta", "schema": "serving"})


@pytest.mark.parametrize("table", ["silver.token_transfers", "bronze.events", "quarantine.events"])
def test_through_superset_the_raw_layers_are_denied(superset, table):
    response = sql_lab(superset, f"SELECT count(*) AS n FROM {table}")
    assert response.status_code != 200
    assert "Access Denied" in response.text, response.text[:500]


def test_through_superset_the_serving_views_are_readable(superset):
    response = sql_lab(superset, "SELECT count(*) AS n FROM serving.taxi_daily")
    assert response.status_code == 200, response.text[:500]
    assert response.json()["data"][0]["n"] > 0
