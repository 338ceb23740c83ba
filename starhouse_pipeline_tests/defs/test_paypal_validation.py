"""A PayPal activity export through the shared reader, validator and asset factory."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from starhouse_pipeline.domain.paypal import PAYPAL_COLUMNS
from starhouse_pipeline.settings import SAMPLE_PAYPAL_EXPORT
from starhouse_pipeline.warehouse.tables import import_runs, quarantined_rows
from starhouse_pipeline_tests.support import (
    check_results,
    fetch_all,
    materialization_metadata,
    run_import,
)

PAYMENT = {
    "Date": "01/01/2025",
    "Time": "3:32:17",
    "TimeZone": "MST",
    "Name": "Ann Lee",
    "Type": "Subscription Payment",
    "Status": "Completed",
    "Currency": "USD",
    "Gross": "1,022.00",
    "Fee": "-20.83",
    "Net": "1,001.17",
    "From Email Address": "ann@example.com",
    "To Email Address": "hello@starhouse.example.org",
    "Transaction ID": "8MC585209K746392H",
    "Balance Impact": "Credit",
}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=PAYPAL_COLUMNS, delimiter="\t", quoting=csv.QUOTE_ALL
        )
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in PAYPAL_COLUMNS} for row in rows)
    return path


def test_the_bundled_sample_is_read_skipped_and_accounted_for(database_url: str) -> None:
    result = run_import(
        database_url,
        SAMPLE_PAYPAL_EXPORT,
        job_name="paypal_import_job",
        allow_sample_in_this_warehouse=True,
    )
    assert result.success
    assert check_results(result) == {"quarantine_share_within_threshold": True}
    metadata = materialization_metadata(result, "validated_paypal_activity")
    # The generator's mix: 280 sales and refunds, 121 rows that are not sales.
    counts = ("rows_read", "valid", "skipped", "quarantined", "duplicates_collapsed")
    assert tuple(metadata[key] for key in counts) == (401, 280, 121, 0, 0)
    assert "General PayPal Debit Card Transaction" in metadata["skipped_by_kind"]
    runs = fetch_all(database_url, sa.select(import_runs.c.rows_read, import_runs.c.source_file))
    assert runs == [(401, SAMPLE_PAYPAL_EXPORT.name)]


def test_unknown_types_and_time_zones_are_quarantined_and_non_sales_skipped(
    database_url: str, tmp_path: Path
) -> None:
    rows = [
        PAYMENT,  # line 2: a sale
        {**PAYMENT, "Transaction ID": "1AB23456CD7890123", "Type": "Mystery Credit"},  # line 3
        {**PAYMENT, "Transaction ID": "2AB23456CD7890123", "TimeZone": "XST"},  # line 4
        {
            **PAYMENT,
            "Transaction ID": "3AB23456CD7890123",
            "Type": "General PayPal Debit Card Transaction",
            "Balance Impact": "Debit",
            "From Email Address": "",
        },  # line 5: card spending, skipped even without a payer
    ]
    path = _write(tmp_path / "Download.tsv", rows)
    result = run_import(database_url, path, job_name="paypal_import_job", max_quarantine_share=1.0)
    assert result.success
    metadata = materialization_metadata(result, "validated_paypal_activity")
    assert (metadata["valid"], metadata["quarantined"], metadata["skipped"]) == (1, 2, 1)
    quarantined = fetch_all(
        database_url,
        sa.select(quarantined_rows.c.line_number, quarantined_rows.c.rule).order_by(
            quarantined_rows.c.line_number
        ),
    )
    assert quarantined == [(3, "known_type"), (4, "known_time_zone")]
