"""Regenerate the README's pictures of the Dagster UI (docs/img/*.png).

Runs the browser tests' own flow (starhouse_pipeline_tests/browser/) against a throwaway
`dagster dev` over a fresh warehouse holding the sample CRM state, in Debian's Chromium:

    .venv/bin/python scripts/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from starhouse_pipeline.domain.export_contract import TRANSACTION_COLUMNS
from starhouse_pipeline.settings import PROJECT_ROOT, SAMPLE_CRM_DIR
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
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
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
            sys.stderr.write(f"wrote {out / name}.png\n")

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
