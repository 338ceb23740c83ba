"""The PayPal activity generator: deterministic, in PayPal's format, every row type, rows that
type without a quarantine, and payments shared with the Kajabi export that pair up."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from starhouse_pipeline.domain import fields
from starhouse_pipeline.domain.cross_source import same_payments
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY, PAYPAL_COLUMNS, PaypalTransaction
from starhouse_pipeline.samples.paypal_generator import (
    SAMPLE_EXPORT_NAME,
    generate_activity,
    main,
    read_kajabi_rows,
    write_activity,
    write_sample,
)
from starhouse_pipeline.settings import SAMPLE_EXPORT, SAMPLES_DIR


@pytest.fixture(scope="module")
def kajabi() -> list[dict[str, str]]:
    return read_kajabi_rows(SAMPLE_EXPORT)


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def typed(sample_file: Path) -> pl.DataFrame:
    raw = pl.read_csv(sample_file, separator="\t", infer_schema=False, quote_char='"')
    raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(fields.STRUCTURE_ERROR_COLUMN))
    typed = fields.type_rows(raw, PAYPAL_ACTIVITY.typed_columns(), PAYPAL_ACTIVITY.row_rules())
    return typed.with_columns(PAYPAL_ACTIVITY.skip_label().alias("skip_label"))


def test_the_bundled_sample_is_what_the_generator_writes(sample_file: Path) -> None:
    assert sample_file.name == SAMPLE_EXPORT_NAME
    assert sample_file.read_bytes() == (SAMPLES_DIR / SAMPLE_EXPORT_NAME).read_bytes()


def test_same_seed_same_bytes_other_seed_other_bytes(kajabi: list, tmp_path: Path) -> None:
    first = write_activity(tmp_path / "a.tsv", generate_activity(kajabi, 300, seed=5))
    second = write_activity(tmp_path / "b.tsv", generate_activity(kajabi, 300, seed=5))
    other = write_activity(tmp_path / "c.tsv", generate_activity(kajabi, 300, seed=6))
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()


def test_the_file_is_as_paypal_writes_it(sample_file: Path) -> None:
    data = sample_file.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines[-1] == ""
    header = lines[0].split("\t")
    assert header == [f'"{column}"' for column in PAYPAL_COLUMNS]
    for line in lines[1:-1]:
        cells = line.split("\t")
        assert len(cells) == 42
        assert all(cell.startswith('"') and cell.endswith('"') for cell in cells)


def test_every_row_type_is_present(typed: pl.DataFrame) -> None:
    types = set(typed["Type"])
    assert types >= {
        "Subscription Payment", "Express Checkout Payment", "Website Payment", "Mobile Payment",
        "Direct Credit Card Payment", "Donation Payment", "General Payment", "Payment Refund",
        "General PayPal Debit Card Transaction", "General Authorization",
        "Account Hold for Open Authorization", "Reversal of General Account Hold",
        "Void of Authorization", "Debit Card Cash Back Bonus", "General Currency Conversion",
        "General Withdrawal", "Bank Deposit to PP Account",
    }  # fmt: skip
    labels = set(typed["skip_label"].drop_nulls())
    assert {"outgoing Express Checkout Payment", "outgoing General Payment"} <= labels


def test_proportions_follow_the_operators_file(typed: pl.DataFrame) -> None:
    counts = typed["Type"].value_counts().to_dicts()
    share = {row["Type"]: row["count"] / typed.height for row in counts}
    assert 0.35 < share["Subscription Payment"] < 0.45
    assert 0.2 < share["Express Checkout Payment"] < 0.3
    assert 250 <= typed.height <= 450
    assert typed["skip_label"].is_not_null().sum() > 0.25 * typed.height


def test_every_generated_row_types_without_a_quarantine(typed: pl.DataFrame) -> None:
    assert typed["quarantine_rule"].null_count() == typed.height
    sales = typed.filter(pl.col("skip_label").is_null())
    PaypalTransaction.validate(sales, lazy=True)
    assert sales["transaction_type"].null_count() == 0


def test_refunds_reference_a_payment_of_the_same_customer(typed: pl.DataFrame) -> None:
    refunds = typed.filter(pl.col("transaction_type") == "refund")
    payments = typed.filter(pl.col("transaction_type").is_in(["purchase", "subscription"]))
    assert refunds.height >= 2
    linked = refunds.join(
        payments, left_on="reference_txn_id", right_on="external_transaction_id", suffix="_paid"
    )
    assert linked.height == refunds.height
    assert (linked["email"] == linked["email_paid"]).all()
    assert (-linked["amount"] <= linked["amount_paid"]).all()
    assert set(linked["paypal_status_paid"]) <= {"Refunded", "Partially Refunded"}
    assert (linked["transaction_date"] > linked["transaction_date_paid"]).all()


def test_pending_rows_thousands_and_both_sides_of_daylight_saving(typed: pl.DataFrame) -> None:
    sales = typed.filter(pl.col("skip_label").is_null())
    assert (sales["status"] == "pending").sum() >= 2
    assert typed["Gross"].str.contains(r"^-?\d{1,3}(,\d{3})+").any()
    assert set(typed["TimeZone"]) == {"MST", "MDT"}
    assert typed.filter(pl.col("Gross") == "22")["Net"].unique().to_list() == ["21.07"]
    assert typed["is_donation"].any()


def test_payers_are_the_kajabi_samples_customers(typed: pl.DataFrame, kajabi: list) -> None:
    customers = {row["Customer Email"].strip().lower() for row in kajabi}
    payers = set(typed.filter(pl.col("skip_label").is_null())["email"])
    assert payers <= customers


def _kajabi_frame(kajabi: list[dict[str, str]]) -> pl.DataFrame:
    """Kajabi's succeeded PayPal sales, keyed as the warehouse would (contact = email)."""
    ids = [row["ID"] for row in kajabi]
    rows = [
        {
            "transaction_id": f"k{row['ID']}",
            "external_transaction_id": row["ID"],
            "contact_id": row["Customer Email"].strip().lower(),
            "amount": Decimal(row["Amount"]),
            "currency": row["Currency"],
            "transaction_date": datetime.strptime(
                row["Created At"], "%Y-%m-%d %H:%M:%S %z"
            ).astimezone(UTC),
        }
        for row in kajabi
        if row["Provider"] == "paypal"
        and row["Status"] == "succeeded"
        and row["Type"] != "refund"
        and ids.count(row["ID"]) == 1
    ]
    return pl.DataFrame(rows).with_columns(
        pl.col("amount").cast(fields.MONEY), pl.col("transaction_date").cast(fields.UTC_TIMESTAMP)
    )


def test_shared_payments_pair_with_the_kajabi_sample(typed: pl.DataFrame, kajabi: list) -> None:
    paypal = typed.filter(pl.col("transaction_type").is_in(["purchase", "subscription"])).select(
        pl.format("p{}", "external_transaction_id").alias("transaction_id"),
        "external_transaction_id",
        pl.col("email").alias("contact_id"),
        "amount",
        "currency",
        "transaction_date",
    )
    found = same_payments(_kajabi_frame(kajabi), paypal)
    shared = generate_activity(kajabi).shared
    assert len(shared) >= 20
    pairs = found.pairs.select("kajabi_external_id", "paypal_external_id").rows()
    assert sorted(pairs) == sorted(shared)
    assert found.ambiguous.is_empty()
    assert found.pairs["seconds_apart"].is_between(5, 300).all()


def test_the_command_line_writes_an_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "activity.tsv"
    assert main([str(target), "--rows", "120", "--seed", "3", "--shared", "0.5"]) == 0
    assert target.read_bytes().startswith(b'\xef\xbb\xbf"Date"\t"Time"')
    assert "payments shared" in capsys.readouterr().out
