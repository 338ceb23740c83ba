"""The Dagster UI, as the people who run the import use it, in a real browser.

A real `dagster dev` (webserver and daemon) over a fresh warehouse with the sample CRM state;
Debian's Chromium driven by Playwright. Screenshots: test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline_tests.browser.ui import SAMPLE_LAUNCHPAD_YAML, DagsterUI
from starhouse_pipeline_tests.support import IMPORT_CHAIN, export_row, write_export

pytestmark = pytest.mark.browser


def declared_on_the_chain() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """What the code declares for each asset of the import chain: the assets it reads, and
    its checks. The UI must show exactly these."""
    definitions = build_definitions()
    upstream: dict[str, set[str]] = {}
    checks: dict[str, list[str]] = {}
    for definition in [*(definitions.assets or []), *(definitions.asset_checks or [])]:
        for key, deps in getattr(definition, "asset_deps", {}).items():
            if key.to_user_string() in IMPORT_CHAIN:
                upstream[key.to_user_string()] = {dep.to_user_string() for dep in deps}
        for check in getattr(definition, "check_keys", ()):
            if check.asset_key.to_user_string() in IMPORT_CHAIN:
                checks.setdefault(check.asset_key.to_user_string(), []).append(check.name)
    return upstream, {asset: sorted(names) for asset, names in sorted(checks.items())}


def records_in(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if any(cell.strip() for cell in row)) - 1


def drop_in_inbox(inbox: Path, name: str, rows: list[dict[str, str]]) -> Path:
    """Write the export beside the inbox and move it in whole, as a finished download."""
    partial = write_export(inbox.parent / f"{name}.part", rows)
    return partial.rename(inbox / name)


def test_a_person_imports_the_sample_and_automates_the_inbox(ui: DagsterUI, inbox: Path) -> None:
    upstream, checks = declared_on_the_chain()
    for position, asset in enumerate(IMPORT_CHAIN[1:], start=1):
        # In this order, each asset reads only assets before it, and at least one of them.
        assert upstream[asset], asset
        assert upstream[asset] <= set(IMPORT_CHAIN[:position]), asset
    ui.open_import_group()
    ui.screenshot("asset-graph")
    for asset in IMPORT_CHAIN[1:]:
        assert ui.upstream_of(asset, upstream[asset]) == upstream[asset], f"lineage of {asset}"
    ui.screenshot("import-report-lineage")

    ui.open_import_job()
    ui.screenshot("import-job")
    run_id = ui.materialize_with_config(SAMPLE_LAUNCHPAD_YAML)
    assert ui.wait_for_run(run_id) == "Success"
    ui.screenshot("run-succeeded")

    # The load and the enrichment carry the checks that guard the money and the contacts.
    assert {"loaded_transactions", "contact_enrichments"} <= checks.keys(), checks
    for asset, names in checks.items():
        ui.open_checks(asset)
        expect(ui.page.get_by_text(f"Checks ({len(names)})", exact=True)).to_be_visible()
        for name in names:
            result = ui.check_result(name)
            assert result.pop("result") == "Passed", f"{asset}.{name}"
            assert result, f"{asset}.{name} shows no metadata"
            ui.screenshot(f"check-{name}")

    report = ui.open_report()
    ui.screenshot("import-report")
    text = report.inner_text()
    rows_read = re.search(r"rows read\s+([\d,]+)", text)
    assert rows_read, text
    assert int(rows_read.group(1).replace(",", "")) == records_in(SAMPLE_EXPORT)
    expect(report.get_by_role("heading", name=re.compile(r"^Revenue"))).to_be_visible()
    # One row per source system and currency: the sample sells in USD and EUR.
    expect(report.get_by_role("cell", name="kajabi", exact=True).first).to_be_visible()
    report.get_by_role("button", name="Close").click()

    ui.open_automation()
    expect(ui.page.get_by_text(re.compile(r"At 06:00 AM M[SD]T"))).to_be_visible()
    ui.screenshot("automation")
    ui.open_sensor("inbox_sensor")
    ui.turn_sensor_on()
    ui.screenshot("sensor-on")
    new_export = drop_in_inbox(
        inbox,
        "kajabi_transactions_next_day.csv",
        [
            export_row(ID="9900000001"),
            export_row(ID="9900000002", Customer_Email="new.customer@example.com"),
        ],
    )
    sensor_run = ui.sensor_run(new_export.name)
    ui.screenshot("sensor-started-a-run")
    assert ui.wait_for_run(sensor_run) == "Success"
    expect(ui.page.get_by_text("Launched by inbox_sensor")).to_be_visible()
    ui.screenshot("sensor-run-succeeded")


def test_an_export_missing_a_column_fails_naming_file_and_column(
    ui: DagsterUI, tmp_path: Path
) -> None:
    columns = [column for column in TRANSACTION_COLUMNS if column != "Customer Email"]
    bad = write_export(tmp_path / "kajabi_without_email.csv", [export_row()], columns)

    ui.open_import_job()
    run_id = ui.materialize_with_config(
        f"ops:\n  raw_kajabi_csv:\n    config:\n      path: {bad}\n"
    )
    assert ui.wait_for_run(run_id) == "Failure"
    message = ui.page.get_by_text(
        re.compile(r"kajabi_without_email\.csv: .*missing required column\(s\) Customer Email")
    )
    expect(message.first).to_be_visible()
    ui.screenshot("run-failed")
