"""The dashboards as a person sees them: Debian's chromium (headless, driven by
Playwright; scripts/dashboard_browser.py) logs in, opens each dashboard on the days
this session curated, waits until every chart has rendered and fails on any chart that
shows an error. One screenshot per dashboard lands in .local/screenshots/. A missing
browser is a failure, not a skip."""

from __future__ import annotations

import pytest

from scripts.dashboard_browser import CHROMIUM, view_dashboards
from tests.conftest import ROOT
from tests.integration.supersethelpers import DASHBOARDS, days_range, local_secret

pytestmark = pytest.mark.integration

SCREENSHOTS = ROOT / ".local" / "screenshots"


def test_chromium_is_debians_package():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make setup` installs Debian's chromium"


def test_every_dashboard_renders_every_chart_without_an_error(superset_url, served_days):
    views = view_dashboards(
        superset_url, local_secret("SUPERSET_ADMIN_PASSWORD"), list(DASHBOARDS), SCREENSHOTS, days_range(served_days)
    )
    assert [view.slug for view in views] == list(DASHBOARDS)
    for view in views:
        assert view.errors == [], f"{view.slug}: charts show errors: {view.errors}"
        assert view.screenshot is not None  # out_dir was given
        assert view.screenshot.stat().st_size > 20_000, f"{view.slug}: the screenshot looks blank"


def test_a_chart_error_is_seen(superset_url):
    """The check can fail: a date filter Superset cannot parse breaks every chart."""
    (view,) = view_dashboards(
        superset_url, local_secret("SUPERSET_ADMIN_PASSWORD"), ["token-transfers"], None, "not a date : either"
    )
    assert len(view.errors) == view.charts > 0


def test_a_refused_login_fails_at_once_and_says_so(superset_url):
    """Not a minute's wait for a page that never comes: the form's answer is read."""
    with pytest.raises(RuntimeError, match="superset refused the login: 302"):
        view_dashboards(superset_url, "not the password", ["token-transfers"], None)
