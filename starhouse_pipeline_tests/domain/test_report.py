"""The import report's words and numbers: what a person reads after a run or a dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from starhouse_pipeline.domain.report import ImportReportInputs, render_import_report

D = Decimal


def _inputs(*, dry_run: bool) -> ImportReportInputs:
    valid = pl.DataFrame(
        {
            "transaction_date": [datetime(2025, 11, 8, 11, 11, tzinfo=UTC)] * 3,
            "transaction_type": ["purchase", "purchase", "subscription"],
            "status": ["completed", "completed", "failed"],
            "currency": ["USD"] * 3,
            "amount": [D("1234.50"), D("110880.50"), D("22.00")],
            "offer_id": ["2148020969", "2148020969", "2148001187"],
            "offer_title": ["Annual Membership", "Annual Membership", "Monthly"],
        },
        schema_overrides={"amount": pl.Decimal(12, 2)},
    )
    quarantined = pl.DataFrame(
        {"quarantine_rule": ["known_type"], "_line": [7], "quarantine_reason": ["unknown Type"]}
    )
    totals = pl.DataFrame(
        {"source_system": ["paypal"], "currency": ["USD"], "rows": [8], "revenue": [D("1275.00")]},
        schema_overrides={"revenue": pl.Decimal(38, 2)},
    )
    return ImportReportInputs(
        file_name="kajabi.csv",
        file_sha256="ab" * 32,
        run_id="run-1",
        dry_run=dry_run,
        valid=valid,
        rows_read=4,
        quarantined=quarantined,
        collapsed=0,
        load_counts={"loaded new": 792, "updated": 1, "unchanged": 0},
        product_counts={"offer_id": 1, "name": 0, "created": 2},
        contact_counts={
            "contacts_created": 180,
            "phones_filled": 9,
            "addresses_filled": 8,
            "fields_filled": 51,
        },
        totals_before=totals,
        totals_after=totals,
    )


def test_money_has_its_currency_and_thousands_separators() -> None:
    report = render_import_report(_inputs(dry_run=False))
    assert "| USD 112,115.00 |" in report  # 1,234.50 + 110,880.50; the failed 22.00 is not
    assert "| failed | 1 | USD 22.00 |" in report
    assert "| Annual Membership | 2148020969 | 2 | USD 112,115.00 |" in report
    assert "112115" not in report


def test_a_run_says_what_it_did() -> None:
    report = render_import_report(_inputs(dry_run=False))
    assert "Loaded 792 new transactions and updated 1; created 180 contacts and 2 products" in (
        report
    )
    assert "| loaded (new) | 792 |" in report
    assert "| contacts created | 180 |" in report
    assert "would" not in report.lower()


def test_a_dry_run_says_would_for_everything_it_did_not_write() -> None:
    report = render_import_report(_inputs(dry_run=True))
    assert "DRY RUN: nothing was written" in report
    assert "Would load 792 new transactions and update 1; would create 180 contacts" in report
    for line in (
        "| would load (new) | 792 |",
        "| would update (changed in Kajabi) | 1 |",
        "| would quarantine | 1 |",
        "| would create | 2 |",
        "| would create contacts | 180 |",
        "| would fill empty phones | 9 |",
        "| would fill fields (each would be logged) | 51 |",
    ):
        assert line in report
    assert "## Rows that would be quarantined" in report
    for done in (
        "loaded (new)",
        "quarantined",
        "created",
        "contacts created",
        "empty phones filled",
    ):
        assert f"| {done} |" not in report, done
    assert "Loaded" not in report


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_report_names_no_machine_numbers(dry_run: bool) -> None:
    report = render_import_report(_inputs(dry_run=dry_run))
    assert "1275.00" not in report
    assert "1,275.00" in report
