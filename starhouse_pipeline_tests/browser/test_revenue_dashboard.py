"""The revenue dashboard as a person opens it: from the file, in Debian's Chromium, offline.

Screenshots: test-artifacts/browser/revenue_dashboard/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline_tests.browser.dashboard import (
    DASHBOARD_VIEWPORT,
    MARKS,
    build_sample_dashboard,
    open_dashboard,
)

pytestmark = pytest.mark.browser

# The sample has USD everywhere and EUR sales, refunds and failed payments, but no EUR
# subscription: every chart the page must draw for it.
EXPECTED_CHARTS = {
    "mrr_movements_USD",
    "revenue_by_month_USD",
    "revenue_by_month_EUR",
    "failed_payment_recovery_USD",
    "failed_payment_recovery_EUR",
    "refunds_by_product_USD",
    "refunds_by_product_EUR",
    "top_products_USD",
    "top_products_EUR",
    "products_bought_together",
    "signup_cohorts_USD",
    "signup_cohorts_EUR",
}


@pytest.fixture(scope="module")
def sample_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_dashboard(tmp_path_factory.mktemp("dashboard"))


def test_the_dashboard_draws_every_chart_from_the_file_offline(
    sample_dashboard: Path, browser: Browser
) -> None:
    # sample_dashboard first: the in-process runs build it before Playwright's event loop starts.
    shots = PROJECT_ROOT / "test-artifacts" / "browser" / "revenue_dashboard"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=DASHBOARD_VIEWPORT)
    requested: list[str] = []

    def only_the_file(route: Route) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        marks = open_dashboard(page, sample_dashboard)
        page.screenshot(path=shots / "top.png")
        page.screenshot(path=shots / "full.png", full_page=True)

        assert errors == []
        assert [url for url in requested if not url.startswith("file:")] == []
        assert marks.keys() >= EXPECTED_CHARTS
        assert {name: count for name, count in marks.items() if count == 0} == {}
        assert page.evaluate("document.body.dataset.drawn") == str(len(marks))
        assert page.evaluate("document.body.dataset.charts") == str(len(marks))
        # Each chart names its currency and period where a person reads it.
        revenue = page.locator("#chart-revenue_by_month_EUR svg")
        expect(revenue.get_by_text("Revenue by month, EUR: gross, refunds and net")).to_be_visible()
        expect(revenue.get_by_text(re.compile(r"^\w{3} \d{4} to \w{3} \d{4} · "))).to_be_visible()

        # The charts are live: a bar tells its month and amount.
        page.locator("#chart-revenue_by_month_EUR").locator(MARKS).first.hover()
        tooltip = page.locator("#vg-tooltip-element")
        expect(tooltip).to_be_visible()
        expect(tooltip).to_contain_text("month")
        page.screenshot(path=shots / "tooltip.png")
    finally:
        context.close()
