"""Superset's dashboards in a real browser: Debian's chromium, headless, driven by
Playwright (never a browser build of Playwright's own). Logs in through the login
form, opens each dashboard with its date filter set, waits until every chart has
rendered, reads what each chart shows (a chart or an error), and saves a screenshot.

    .venv/bin/python scripts/dashboard_browser.py screenshots OUT_DIR [--range R] [--optimise]
    .venv/bin/python scripts/dashboard_browser.py urls [--range R]

R is the date filter, 'YYYY-MM-DD : YYYY-MM-DD' (end excluded); without it, each
dashboard's default. `make screenshots` writes the README's images (docs/img/), `make
demo` prints the URLs; the browser test (tests/integration/test_dashboards_in_browser.py)
uses the same functions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
DASHBOARDS = ROOT / "superset" / "assets" / "dashboards"
ORDER = ("taxi-operations", "token-transfers", "pipeline-health")
# What one page action may take on a busy machine (gunicorn gives a request 120 s too).
PAGE_TIMEOUT_MS = 120_000
WIDTH, HEIGHT = 1280, 3200  # tall enough for every chart to be on screen: Superset renders them lazily

CHART = "[data-test='chart-grid-component']"
# What a chart shows when its query failed, and what it shows while it still loads.
CHART_ERROR = ".ant-alert-error, [data-test='error-tooltip'], .error-alert"
CHART_LOADING = "[data-test='loading-indicator'], .loading"
CHART_RENDERED = "svg, canvas, table, .superset-legacy-chart-big-number, .big_number, .no-results"


@dataclass
class DashboardView:
    slug: str
    charts: int
    errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    seconds: float = 0.0


def committed_dashboards() -> dict[str, dict]:
    """slug -> the committed dashboard (its title, its date filter's id), in ORDER."""
    dashboards = [yaml.safe_load(path.read_text()) for path in DASHBOARDS.glob("*.yaml")]
    return {d["slug"]: d for d in sorted(dashboards, key=lambda d: ((*ORDER, d["slug"])).index(d["slug"]))}


def dashboard_url(base_url: str, dashboard: dict, time_range: str | None) -> str:
    """The dashboard's URL; with a time range, its date filter set to it (native_filters,
    a rison parameter Superset reads on load)."""
    url = f"{base_url}/superset/dashboard/{dashboard['slug']}/"
    if time_range is None:
        return url
    (date_filter,) = dashboard["metadata"]["native_filter_configuration"]
    fid, value = date_filter["id"], "'" + time_range.replace("!", "!!").replace("'", "!'") + "'"
    rison = f"({fid}:(id:{fid},extraFormData:(time_range:{value}),filterState:(value:{value})))"
    return f"{url}?native_filters={quote(rison, safe='():,')}"


def log_in(page, base_url: str, password: str) -> None:
    """Log in through the form; done when Superset answers its API as the logged-in user.

    A changed session cookie is no proof: the login page itself can change it before the
    form is answered, and a dashboard opened on that cookie was sent back to the login page
    (once, in CI). So Superset is asked who the browser is (`/api/v1/me/` with the
    browser's cookies: 401 until the login's session cookie is stored). The page Superset
    redirects to is not waited for: nothing here needs it, and on a machine busy with Spark
    jobs its navigation once took more than two minutes to start (the next `goto` replaces
    it; a dashboard that sends the browser back to the login page says so)."""
    page.goto(f"{base_url}/login/")
    page.fill("[data-test='username-input']", "admin")
    page.fill("[data-test='password-input']", password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as posted:
        page.click("[data-test='login-button']")
    answer = posted.value
    if answer.status >= 400 or "/login" in (answer.headers.get("location") or "/"):
        where = answer.headers.get("location") or ""
        raise RuntimeError(f"superset refused the login: {answer.status} {answer.status_text} {where}".rstrip())
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while (status := page.request.get(f"{base_url}/api/v1/me/").status) != 200:
        if time.monotonic() > deadline:
            seconds = PAGE_TIMEOUT_MS // 1000
            raise TimeoutError(f"superset accepted the login but still answers {status} to its user after {seconds} s")
        page.wait_for_timeout(200)


def wait_for_charts(page, expected: int, timeout_s: float) -> None:
    """Until `expected` charts are on the page, none is loading and each shows something."""
    deadline = time.monotonic() + timeout_s
    script = """([chart, loading, rendered, error]) => {
        const charts = [...document.querySelectorAll(chart)];
        const done = charts.filter(c => !c.querySelector(loading)
                                        && (c.querySelector(rendered) || c.querySelector(error)));
        return [charts.length, done.length];
    }"""
    while True:
        found, done = page.evaluate(script, [CHART, CHART_LOADING, CHART_RENDERED, CHART_ERROR])
        if found >= expected and done == found:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done} of {expected} charts rendered ({found} on the page) after {timeout_s:.0f} s")
        page.wait_for_timeout(500)


def chart_errors(page) -> list[str]:
    script = """([chart, error]) => [...document.querySelectorAll(chart)]
        .filter(c => c.querySelector(error))
        .map(c => (c.querySelector('.header-title, [data-test="editable-title"]') || {}).innerText + ': '
                  + c.querySelector(error).innerText.slice(0, 300))"""
    return page.evaluate(script, [CHART, CHART_ERROR])


def view_dashboards(
    base_url: str,
    password: str,
    slugs: list[str],
    out_dir: Path | None,
    time_range: str | None = None,
    timeout_s: float = 240,
) -> list[DashboardView]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    dashboards = committed_dashboards()
    views = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            log_in(page, base_url, password)
            for slug in slugs:
                dashboard = dashboards[slug]
                expected = sum(
                    1
                    for item in dashboard["position"].values()
                    if isinstance(item, dict) and item.get("type") == "CHART"
                )
                started = time.monotonic()
                page.goto(dashboard_url(base_url, dashboard, time_range))
                if "/login" in page.url:
                    raise RuntimeError(f"superset sent the dashboard {slug} to the login page: the session was lost")
                wait_for_charts(page, expected, timeout_s)
                page.wait_for_timeout(1500)  # the charts' entry animations
                view = DashboardView(slug, expected, chart_errors(page), seconds=time.monotonic() - started)
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    view.screenshot = out_dir / f"{slug}.png"
                    # The viewport down to the last chart: a full-page capture resizes the page
                    # and Superset re-renders every chart, blank at the moment of the capture.
                    bottom = page.evaluate(
                        f'() => Math.max(...[...document.querySelectorAll("{CHART}")]'
                        ".map(c => c.getBoundingClientRect().bottom))"
                    )
                    page.screenshot(
                        path=str(view.screenshot),
                        clip={"x": 0, "y": 0, "width": WIDTH, "height": min(bottom + 24, HEIGHT)},
                    )
                views.append(view)
        finally:
            browser.close()
    return views


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    shots = commands.add_parser("screenshots", help="check every dashboard in chromium and save a PNG of each")
    shots.add_argument("out_dir", type=Path)
    shots.add_argument("--optimise", action="store_true", help="shrink the PNGs (256 colours) for the repository")
    urls = commands.add_parser("urls", help="print each dashboard's title and URL")
    for command in (shots, urls):
        command.add_argument("--range", dest="time_range", help="the date filter: 'YYYY-MM-DD : YYYY-MM-DD'")
    args = parser.parse_args(argv)
    base_url = f"http://127.0.0.1:{os.environ.get('SUPERSET_PORT', '8088')}"
    if args.command == "urls":
        for dashboard in committed_dashboards().values():
            print(f"{dashboard['dashboard_title']:<17} {dashboard_url(base_url, dashboard, args.time_range)}")
        return 0
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD") or sys.exit("SUPERSET_ADMIN_PASSWORD is not set")
    views = view_dashboards(base_url, password, list(committed_dashboards()), args.out_dir, args.time_range)
    for view in views:
        assert view.screenshot is not None  # out_dir was given
        if args.optimise:
            optimise_png(view.screenshot)
        size = view.screenshot.stat().st_size // 1024
        print(f"{view.slug}: {view.charts} charts in {view.seconds:.0f} s -> {view.screenshot} ({size} KiB)")
        for error in view.errors:
            print(f"  chart error: {error}", file=sys.stderr)
    return 1 if any(view.errors for view in views) else 0


def optimise_png(path: Path) -> None:
    """256 colours: a dashboard is flat colours and text, a fifth of the size and no visible change."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
