"""The revenue dashboard of the bundled sample, and opening it in a browser page.

The browser test and `scripts/screenshots.py` share these steps: the sample CRM state and
export imported into a fresh SQLite warehouse, `analytics_job` run in process, its page
written into a temporary folder, then opened from the file as a person would open it.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from playwright.sync_api import Page

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline_tests.browser.server import prepare_warehouse
from starhouse_pipeline_tests.browser.ui import LOAD_TIMEOUT_MS
from starhouse_pipeline_tests.support import run_import

# Two charts side by side, and the page's first sections in one picture.
DASHBOARD_VIEWPORT = {"width": 1600, "height": 1250}
# Vega draws each data mark (bar, line, point, cell) as a path in a group of role "mark".
MARKS = "svg g.role-mark > path, svg g.role-mark > rect"


def build_sample_dashboard(root: Path) -> Path:
    """Import the sample into a warehouse under `root`, run `analytics_job`; the page's path."""
    root.mkdir(parents=True, exist_ok=True)
    url = prepare_warehouse(root / "warehouse.db")
    instance = dg.DagsterInstance.ephemeral()
    if not run_import(
        url, SAMPLE_EXPORT, instance=instance, reports_dir=root, allow_sample_in_this_warehouse=True
    ).success:
        raise RuntimeError("the sample import failed")
    path = root / "revenue_dashboard.html"
    result = (
        build_definitions(WarehouseResource(database_url=url))
        .resolve_job_def("analytics_job")
        .execute_in_process(
            run_config={"ops": {"revenue_dashboard": {"config": {"path": str(path)}}}},
            instance=instance,
            raise_on_error=False,
        )
    )
    if not result.success:
        raise RuntimeError("analytics_job failed on the sample")
    return path


def open_dashboard(page: Page, path: Path) -> dict[str, int]:
    """Open the page from its file and wait until every chart has been drawn (or failed);
    the number of data marks each chart drew, by chart name."""
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("document.body.dataset.drawn !== undefined", timeout=LOAD_TIMEOUT_MS)
    return {
        figure.get_attribute("data-chart") or "": figure.locator(MARKS).count()
        for figure in page.locator("figure.chart").all()
    }
