"""A PayPal activity export imported beside Kajabi's: what counts as what, every row
accounted for, and a payment that sits in both sources counted once."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.exports import read, recognize_file
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY, PAYPAL_COLUMNS
from starhouse_pipeline.domain.validation import ROW_HASH, validate_export
from starhouse_pipeline.settings import SAMPLE_EXPORT, SAMPLE_PAYPAL_EXPORT
from starhouse_pipeline.warehouse import analytics as warehouse_analytics
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.paypal_tables import product_aliases, same_payments
from starhouse_pipeline.warehouse.tables import (
    contact_enrichment_log,
    contacts,
    products,
    quarantined_rows,
    transactions,
)
from starhouse_pipeline_tests.support import (
    check_results,
    export_row,
    fetch_all,
    insert_rows,
    materialization_metadata,
    run_import,
    write_export,
)

D = Decimal
PAYPAL = "paypal_import_job"


def _payment(**values: str) -> dict[str, str]:
    row = {
        "Date": "01/15/2025",
        "Time": "10:02:00",
        "TimeZone": "MST",
        "Name": "Ann Lee",
        "Type": "Express Checkout Payment",
        "Status": "Completed",
        "Currency": "USD",
        "Gross": "22.00",
        "Fee": "-0.93",
        "Net": "21.07",
        "From Email Address": "ann@example.com",
        "To Email Address": "hello@starhouse.example.org",
        "Transaction ID": "1AA11111AA1111111",
        "Item Title": "antares starhouse membership",
        "Balance Impact": "Credit",
    }
    row.update(values)
    return row


def _write_paypal(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=PAYPAL_COLUMNS, delimiter="\t", quoting=csv.QUOTE_ALL
        )
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in PAYPAL_COLUMNS} for row in rows)
    return path


def _kajabi(**values: str) -> dict[str, str]:
    return export_row(Provider="paypal", Payment_Method="paypal", **values)


KAJABI_ROWS = [
    # Ann's charge through PayPal: PayPal records it two minutes later -> one payment.
    _kajabi(ID="9001", Amount="22.00", Created_At="2025-01-15 10:00:00 -0700",
            Customer_Email="ann@example.com", Customer_Name="Ann Lee"),
    # Bob's charge: PayPal's row of the same amount is 30 minutes later -> not the same.
    _kajabi(ID="9002", Amount="50.00", Created_At="2025-01-15 12:00:00 -0700",
            Customer_Email="bob@example.com", Customer_Name="Bob Ray"),
    # Cat was charged twice within minutes: PayPal's one row has two candidates.
    _kajabi(ID="9003", Amount="30.00", Created_At="2025-01-15 09:00:00 -0700",
            Customer_Email="cat@example.com", Customer_Name="Cat Sun"),
    _kajabi(ID="9004", Amount="30.00", Created_At="2025-01-15 09:05:00 -0700",
            Customer_Email="cat@example.com", Customer_Name="Cat Sun"),
]  # fmt: skip
PAYPAL_ROWS = [
    _payment(),  # line 2: Ann, the same payment as Kajabi 9001
    _payment(  # line 3: Bob, outside the window
        **{"Transaction ID": "2BB22222BB2222222", "Time": "12:30:00", "Gross": "50.00",
           "Fee": "-1.49", "Net": "48.51", "From Email Address": "bob@example.com",
           "Name": "Bob Ray", "Contact Phone Number": "303-555-0100"}
    ),
    _payment(  # line 4: Cat, ambiguous
        **{"Transaction ID": "3CC33333CC3333333", "Time": "9:03:00", "Gross": "30.00",
           "Fee": "-1.09", "Net": "28.91", "From Email Address": "cat@example.com",
           "Name": "Cat Sun"}
    ),
    _payment(  # line 5: Ann's refund, linked to her payment
        **{"Transaction ID": "4DD44444DD4444444", "Type": "Payment Refund", "Gross": "-22.00",
           "Fee": "0.93", "Net": "-21.07", "Balance Impact": "Debit",
           "From Email Address": "hello@starhouse.example.org",
           "To Email Address": "ann@example.com", "Reference Txn ID": "1AA11111AA1111111",
           "Date": "01/20/2025"}
    ),
    _payment(  # line 6: the operator's card spending: not a sale, skipped
        **{"Transaction ID": "5EE55555EE5555555", "Type": "General PayPal Debit Card Transaction",
           "Gross": "-12.00", "Fee": "", "Net": "-12.00", "Balance Impact": "Debit",
           "From Email Address": "", "Item Title": ""}
    ),
]  # fmt: skip


def _import_both(url: str, tmp_path: Path) -> tuple:
    kajabi = run_import(url, write_export(tmp_path / "kajabi.csv", KAJABI_ROWS))
    paypal = run_import(url, _write_paypal(tmp_path / "Download.tsv", PAYPAL_ROWS), job_name=PAYPAL)
    return kajabi, paypal


def _paypal_rows(url: str) -> dict[str, tuple]:
    rows = fetch_all(
        url,
        sa.select(
            transactions.c.external_transaction_id,
            transactions.c.transaction_type,
            transactions.c.status,
            transactions.c.amount,
            transactions.c.product_id,
        ).where(transactions.c.source_system == "paypal"),
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_sales_and_refunds_load_non_sales_are_skipped_and_every_row_is_accounted_for(
    database_url: str, tmp_path: Path
) -> None:
    insert_rows(database_url, products, [{"name": "StarHouse Membership - Antares monthly"}])
    product_id = fetch_all(database_url, sa.select(products.c.id))[0][0]
    insert_rows(
        database_url,
        product_aliases,
        [{"title": "Antares StarHouse Membership", "product_id": product_id}],
    )

    kajabi, paypal = _import_both(database_url, tmp_path)

    assert kajabi.success
    assert paypal.success
    assert all(check_results(paypal).values()), check_results(paypal)
    held = _paypal_rows(database_url)
    assert {key: value[:3] for key, value in held.items()} == {
        "1AA11111AA1111111": ("purchase", "completed", D("22.00")),
        "2BB22222BB2222222": ("purchase", "completed", D("50.00")),
        "3CC33333CC3333333": ("purchase", "completed", D("30.00")),
        "4DD44444DD4444444": ("refund", "completed", D("-22.00")),
    }
    # The alias (compared normalized) maps PayPal's free-text title to the product.
    assert {value[3] for value in held.values()} == {product_id}
    accounting = next(
        e for e in paypal.get_asset_check_evaluations() if e.check_name == "every_row_accounted_for"
    )
    places = {key: value.value for key, value in accounting.metadata.items()}
    assert (places["rows_read"], places["loaded new"], places["not_sales_skipped"]) == (5, 4, 1)
    assert fetch_all(database_url, sa.select(quarantined_rows.c.id)) == []


def test_a_payment_in_both_sources_counts_once_and_ambiguous_ones_are_never_merged(
    database_url: str, tmp_path: Path
) -> None:
    _, paypal = _import_both(database_url, tmp_path)

    recorded = fetch_all(
        database_url,
        sa.select(
            same_payments.c.kajabi_external_id,
            same_payments.c.paypal_external_id,
            same_payments.c.seconds_apart,
            same_payments.c.amount,
            same_payments.c.ambiguous,
        ).order_by(same_payments.c.ambiguous, same_payments.c.kajabi_external_id),
    )
    assert recorded == [
        ("9001", "1AA11111AA1111111", 120, D("22.00"), False),
        ("9003", "3CC33333CC3333333", 180, D("30.00"), True),
        ("9004", "3CC33333CC3333333", -120, D("30.00"), True),
    ]
    assert materialization_metadata(paypal, "loaded_paypal_transactions")["same_payments"] == 1
    engine = create_warehouse_engine(database_url)
    with engine.connect() as connection:
        counted = warehouse_analytics.read_transactions(connection)
        revenue = warehouse_analytics.completed_revenue_by_currency(connection)
    engine.dispose()
    ids = set(counted.get_column("transaction_id").to_list())
    paypal_ann = fetch_all(
        database_url,
        sa.select(transactions.c.id).where(
            transactions.c.external_transaction_id == "1AA11111AA1111111"
        ),
    )[0][0]
    assert str(paypal_ann) not in {str(i) for i in ids}
    # Kajabi 22 + 50 + 30 + 30, PayPal's Bob 50 and Cat 30 and Ann's refund -22: Ann's
    # payment once, not twice.
    assert revenue == {"USD": D("190.00")}
    assert counted.filter(pl.col("status") == "completed")["amount"].sum() == D("190.00")


def test_re_importing_changes_nothing_and_keeps_the_pairs(database_url: str, tmp_path: Path):
    _import_both(database_url, tmp_path)
    before = fetch_all(database_url, sa.select(same_payments.c.paypal_external_id))

    again = run_import(database_url, tmp_path / "Download.tsv", job_name=PAYPAL)

    assert again.success
    load = materialization_metadata(again, "loaded_paypal_transactions")
    assert (load["loaded new"], load["updated"], load["unchanged"]) == (0, 0, 4)
    assert fetch_all(database_url, sa.select(same_payments.c.paypal_external_id)) == before


def test_contacts_get_only_their_empty_fields_filled_with_paypal_provenance(
    database_url: str, tmp_path: Path
) -> None:
    insert_rows(
        database_url,
        contacts,
        [{"email": "bob@example.com", "first_name": "Robert", "phone": None}],
    )

    _import_both(database_url, tmp_path)

    bob = fetch_all(
        database_url,
        sa.select(contacts.c.first_name, contacts.c.phone, contacts.c.phone_source).where(
            contacts.c.email == "bob@example.com"
        ),
    )
    assert bob == [("Robert", "303-555-0100", "paypal_transaction")]
    logged = fetch_all(
        database_url,
        sa.select(contact_enrichment_log.c.field, contact_enrichment_log.c.source),
    )
    assert ("phone", "paypal_transaction") in logged


def test_the_bundled_sample_imports_beside_the_kajabi_sample(sqlite_url: str) -> None:
    assert run_import(sqlite_url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True).success

    result = run_import(
        sqlite_url, SAMPLE_PAYPAL_EXPORT, job_name=PAYPAL, allow_sample_in_this_warehouse=True
    )

    assert result.success
    assert all(check_results(result).values()), check_results(result)
    validated = materialization_metadata(result, "validated_paypal_activity")
    counts = ("rows_read", "valid", "skipped", "quarantined", "duplicates_collapsed")
    # The generator's mix: 280 sales and refunds, 121 rows that are not sales.
    assert tuple(validated[key] for key in counts) == (401, 280, 121, 0, 0)
    # The generator wrote 35 of the Kajabi sample's PayPal charges again.
    assert materialization_metadata(result, "loaded_paypal_transactions")["same_payments"] == 35
    report = materialization_metadata(result, "paypal_import_report")["report"]
    assert report.startswith("# PayPal import report")
    assert "| skipped (not sales) | 121 |" in report
    assert "35 of the warehouse's PayPal payments are also in the Kajabi export" in report
    # The warehouse's totals per source system, before and after.
    assert "| paypal |" in report
    assert "| kajabi |" in report


def test_unknown_types_and_time_zones_are_quarantined(sqlite_url: str, tmp_path: Path) -> None:
    rows = [
        _payment(),
        _payment(**{"Transaction ID": "6FF66666FF6666666", "Type": "Mystery Credit"}),
        _payment(**{"Transaction ID": "7GG77777GG7777777", "TimeZone": "XST"}),
    ]
    path = _write_paypal(tmp_path / "Download.tsv", rows)

    result = run_import(sqlite_url, path, job_name=PAYPAL, max_quarantine_share=1.0)

    assert result.success
    quarantined = fetch_all(
        sqlite_url,
        sa.select(quarantined_rows.c.line_number, quarantined_rows.c.rule).order_by(
            quarantined_rows.c.line_number
        ),
    )
    assert quarantined == [(3, "known_type"), (4, "known_time_zone")]


def test_the_comma_separated_download_reads_as_the_tab_separated_one(tmp_path: Path) -> None:
    tabs = _write_paypal(tmp_path / "Download.tsv", PAYPAL_ROWS)
    commas = tmp_path / "Download.csv"
    with commas.open("w", encoding="utf-8-sig", newline="") as handle:
        columns = [{"TimeZone": "Time Zone"}.get(c, c) for c in PAYPAL_COLUMNS]
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        writer.writerows([row.get(c, "") for c in PAYPAL_COLUMNS] for row in PAYPAL_ROWS)

    from_tabs, from_commas = (validate_export(read(p, PAYPAL_ACTIVITY)) for p in (tabs, commas))

    assert recognize_file(commas) is PAYPAL_ACTIVITY
    assert from_commas.valid.drop(ROW_HASH).equals(from_tabs.valid.drop(ROW_HASH))
    assert from_commas.skipped.equals(from_tabs.skipped)


def test_the_pair_is_found_whichever_export_is_imported_first(
    sqlite_url: str, tmp_path: Path
) -> None:
    paypal = run_import(
        sqlite_url, _write_paypal(tmp_path / "Download.tsv", PAYPAL_ROWS), job_name=PAYPAL
    )
    assert materialization_metadata(paypal, "loaded_paypal_transactions")["same_payments"] == 0

    kajabi = run_import(sqlite_url, write_export(tmp_path / "kajabi.csv", KAJABI_ROWS))

    assert kajabi.success
    assert check_results(kajabi)["revenue_counts_each_payment_once"] is True
    assert materialization_metadata(kajabi, "loaded_transactions")["same_payments"] == 1
    pairs = fetch_all(
        sqlite_url,
        sa.select(same_payments.c.kajabi_external_id, same_payments.c.paypal_external_id).where(
            ~same_payments.c.ambiguous
        ),
    )
    assert pairs == [("9001", "1AA11111AA1111111")]


def test_the_check_fails_when_the_metrics_would_count_a_pair_twice(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import_both(sqlite_url, tmp_path)
    engine = create_warehouse_engine(sqlite_url)
    with engine.connect() as connection:
        assert warehouse_analytics.pairs_counted_twice(connection) == 0
        # A metrics read that forgot the record of pairs counts Ann's payment twice.
        nothing = sa.select(same_payments.c.paypal_transaction_id).where(sa.false())
        monkeypatch.setattr(warehouse_analytics, "paypal_side_of_pairs", lambda: nothing)
        assert warehouse_analytics.pairs_counted_twice(connection) == 1
    engine.dispose()
