"""Regenerate the README's pictures of the Dagster UI and the revenue dashboard (docs/img/*.png).

Runs the browser tests' own flow (starhouse_pipeline_tests/browser/) against a throwaway
`dagster dev` over a fresh warehouse holding the sample CRM state, in Debian's Chromium; the
dashboard is the one `analytics_job` writes for the bundled sample, opened from its file:

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--only ui|dashboard]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.settings import PROJECT_ROOT, SAMPLE_CRM_DIR
from starhouse_pipeline_tests.browser.dashboard import (
    DASHBOARD_VIEWPORT,
    build_sample_dashboard,
    open_dashboard,
)
from starhouse_pipeline_tests.browser.server import running_dagster_dev
from starhouse_pipeline_tests.browser.ui import (
    SAMPLE_LAUNCHPAD_YAML,
    DagsterUI,
    launch_chromium,
    skip_community_prompt,
)
from starhouse_pipeline_tests.support import export_row, write_export

DOCS_IMG = PROJECT_ROOT / "docs" / "img"
# Wide enough that the asset graph draws whole nodes with their names and status.
VIEWPORT = {"width": 1680, "height": 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMG, help="where the PNGs go")
    parser.add_argument(
        "--only", choices=("ui", "dashboard"), help="only the Dagster UI, or only the dashboard"
    )
    arguments = parser.parse_args(argv)
    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    if arguments.only != "dashboard":
        ui_pictures(out)
    if arguments.only != "ui":
        dashboard_picture(out)
    return 0


def _wrote(path: Path) -> None:
    sys.stderr.write(f"wrote {path}\n")


def dashboard_picture(out: Path) -> None:
    """The top of the sample's revenue dashboard: MRR and revenue by month."""
    with tempfile.TemporaryDirectory(prefix="starhouse-dashboard-") as root:
        # Built before Playwright starts: its event loop must not wrap the in-process runs.
        page_file = build_sample_dashboard(Path(root))
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport=DASHBOARD_VIEWPORT).new_page()
            blank = [name for name, marks in open_dashboard(page, page_file).items() if not marks]
            if blank:
                raise SystemExit(f"the dashboard drew nothing in {blank}")
            page.screenshot(path=out / "revenue_dashboard.png")
            _wrote(out / "revenue_dashboard.png")
            browser.close()


def ui_pictures(out: Path) -> None:
    """The Dagster UI's pictures, from a throwaway `dagster dev`."""
    with (
        tempfile.TemporaryDirectory(prefix="starhouse-screenshots-") as root,
        running_dagster_dev(Path(root), SAMPLE_CRM_DIR) as dev,
        sync_playwright() as playwright,
    ):
        skip_community_prompt(dev.url)
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        ui = DagsterUI(page, dev.url)

        def save(name: str) -> None:
            page.screenshot(path=out / f"{name}.png")
            _wrote(out / f"{name}.png")

        ui.open_import_job()
        run_id = ui.materialize_with_config(SAMPLE_LAUNCHPAD_YAML)
        if ui.wait_for_run(run_id) != "Success":
            raise SystemExit(f"the import run {run_id} did not succeed; see {dev.log}")
        save("run")

        ui.open_import_group()
        save("asset-graph")

        ui.open_checks("loaded_transactions")
        first_check = page.get_by_text("Evaluation result", exact=True)
        expect(first_check).to_be_visible()
        save("checks")

        ui.open_report()
        save("report")
        page.get_by_role("button", name="Close").click()

        ui.open_automation()
        save("automation")

        bad = write_export(
            Path(root) / "kajabi_without_email.csv",
            [export_row()],
            [column for column in TRANSACTION_COLUMNS if column != "Customer Email"],
        )
        ui.open_import_job()
        run_id = ui.materialize_with_config(
            f"ops:\n  raw_kajabi_csv:\n    config:\n      path: {bad}\n"
        )
        ui.wait_for_run(run_id)
        expect(page.get_by_text("missing required column(s) Customer Email").first).to_be_visible()
        save("failed-run")
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
