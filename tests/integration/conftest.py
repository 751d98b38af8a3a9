"""Fixtures shared by the Superset tests (REST and browser), defined once so that the
session curates its days once."""

from __future__ import annotations

import os
from datetime import date

import pytest
import requests

from tests.integration.supersethelpers import Superset, curate_served_days, local_secret


@pytest.fixture(scope="session")
def superset_url() -> str:
    base_url = f"http://127.0.0.1:{os.environ.get('SUPERSET_PORT', '8088')}"
    try:
        health = requests.get(f"{base_url}/health", timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"Superset is not running on {base_url}: `make up` starts it")
    assert health.status_code == 200 and health.text.strip() == "OK"
    return base_url


@pytest.fixture(scope="session")
def superset(superset_url) -> Superset:
    return Superset(superset_url, local_secret("SUPERSET_ADMIN_PASSWORD"))


@pytest.fixture(scope="session")
def served_days(spark, settings) -> list[date]:
    """Two small days of this session's own, curated into the served lake."""
    return curate_served_days(settings)
