"""The PayPal activity export: what counts as what, exact values, and which rows are judged."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandera.errors
import polars as pl
import pytest

from starhouse_pipeline.domain import fields
from starhouse_pipeline.domain.export_spec import map_header, recognize
from starhouse_pipeline.domain.paypal import (
    PAYPAL_ACTIVITY,
    PAYPAL_COLUMNS,
    PAYPAL_STATUSES,
    PAYPAL_TRANSACTION_TYPES,
    PAYPAL_TYPES,
    TIME_ZONE_OFFSETS,
    PaypalTransaction,
)

PAYMENT = {
    "Date": "01/01/2025",
    "Time": "3:32:17",
    "TimeZone": "MST",
    "Name": "Ann Lee",
    "Type": "Subscription Payment",
    "Status": "Completed",
    "Currency": "USD",
    "Gross": "22",
    "Fee": "-0.93",
    "Net": "21.07",
    "From Email Address": " Ann.Lee@Example.com ",
    "To Email Address": "hello@starhouse.example.org",
    "Transaction ID": "8MC585209K746392H",
    "Item Title": "antares starhouse membership",
    "Item ID": "ANT-1",
    "Reference Txn ID": "I-ABCDEF123456",
    "Address Line 1": "12 Pearl St",
    "Address Line 2/District/Neighborhood": "Apt 2",
    "Town/City": "Boulder",
    "State/Province/Region/County/Territory/Prefecture/Republic": "CO",
    "Zip/Postal Code": "80302",
    "Country": "United States",
    "Country Code": "US",
    "Contact Phone Number": "303-555-0142",
    "Balance Impact": "Credit",
}
SAME = object()  # skipped under its own Type
CARD_SPEND = {
    **PAYMENT,
    "Type": "General PayPal Debit Card Transaction",
    "Name": "King Soopers",
    "Gross": "-54.10",
    "Fee": "0.00",
    "Net": "-54.10",
    "Balance Impact": "Debit",
}


def _raw(*rows: dict[str, str]) -> pl.DataFrame:
    """Raw text rows as the reader hands them over: every column, text, no structure error."""
    records = [{column: row.get(column, "") for column in PAYPAL_COLUMNS} for row in rows]
    frame = pl.DataFrame(records, schema=dict.fromkeys(PAYPAL_COLUMNS, pl.String))
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(fields.STRUCTURE_ERROR_COLUMN))


def _typed(*rows: dict[str, str]) -> pl.DataFrame:
    raw = _raw(*rows)
    typed = fields.type_rows(raw, PAYPAL_ACTIVITY.typed_columns(), PAYPAL_ACTIVITY.row_rules())
    return typed.with_columns(PAYPAL_ACTIVITY.skip_label().alias("skip_label"))


def _one(**changes: str) -> dict:
    return _typed({**PAYMENT, **changes}).row(0, named=True)


# -- what counts as what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paypal_type", "impact", "crm_type", "skipped_as"),
    [
        ("Subscription Payment", "Credit", "subscription", None),
        ("Express Checkout Payment", "Credit", "purchase", None),
        ("Website Payment", "Credit", "purchase", None),
        ("Mobile Payment", "Credit", "purchase", None),
        ("Direct Credit Card Payment", "Credit", "purchase", None),
        ("Donation Payment", "Credit", "purchase", None),
        ("General Payment", "Credit", "purchase", None),
        ("PreApproved Payment Bill User Payment", "Credit", "purchase", None),
        ("express checkout payment", "credit", "purchase", None),
        ("Payment Refund", "Debit", "refund", None),
        ("Express Checkout Payment", "Debit", None, "outgoing Express Checkout Payment"),
        ("General Payment", "Debit", None, "outgoing General Payment"),
        ("Payment Refund", "Credit", None, "incoming Payment Refund"),
        ("Subscription Payment", "Memo", None, "Subscription Payment (memo)"),
        ("General PayPal Debit Card Transaction", "Debit", None, SAME),
        ("General Authorization", "Memo", None, SAME),
        ("Account Hold for Open Authorization", "Debit", None, SAME),
        ("Reversal of General Account Hold", "Credit", None, SAME),
        ("Void of Authorization", "Memo", None, SAME),
        ("Debit Card Cash Back Bonus", "Credit", None, SAME),
        ("General Currency Conversion", "Debit", None, SAME),
        ("General Withdrawal", "Debit", None, SAME),
        ("bank deposit to pp account", "Credit", None, "Bank Deposit to PP Account"),
    ],
)  # fmt: skip
def test_type_and_balance_impact_decide_what_a_row_is(
    paypal_type: str, impact: str, crm_type: str | None, skipped_as: object
) -> None:
    skipped_as = paypal_type if skipped_as is SAME else skipped_as
    gross = "-22.00" if impact == "Debit" else "22.00"
    row = _one(Type=paypal_type, **{"Balance Impact": impact, "Gross": gross, "Net": None})
    assert (row["transaction_type"], row["skip_label"]) == (crm_type, skipped_as)
    assert row["quarantine_rule"] is None


def test_the_type_table_only_names_crm_types_and_sales_take_money_in_or_give_it_back() -> None:
    sales = {name: sale for name, sale in PAYPAL_TYPES.items() if sale is not None}
    assert {sale.transaction_type for sale in sales.values()} == set(PAYPAL_TRANSACTION_TYPES)
    assert {name for name, sale in sales.items() if sale.balance_impact == "Debit"} == {
        "Payment Refund"
    }
    assert [name for name, sale in sales.items() if sale.transaction_type == "subscription"] == [
        "Subscription Payment"
    ]


def test_donations_are_purchases_kept_distinguishable() -> None:
    assert _one(Type="Donation Payment")["is_donation"] is True
    assert _one(Type="Website Payment")["is_donation"] is False


@pytest.mark.parametrize(
    ("status", "crm_status"),
    [
        ("Completed", "completed"),
        ("Pending", "pending"),
        ("Denied", "failed"),
        ("Reversed", "failed"),
        ("Canceled", "failed"),
        ("Refunded", "completed"),
        ("Partially Refunded", "completed"),
        ("partially refunded", "completed"),
    ],
)
def test_statuses_map_to_the_crm(status: str, crm_status: str) -> None:
    row = _one(Status=status)
    assert (row["paypal_status"], row["status"], row["quarantine_rule"]) == (
        status,
        crm_status,
        None,
    )


def test_status_table_covers_exactly_the_documented_statuses() -> None:
    assert set(PAYPAL_STATUSES) == {
        "Completed",
        "Pending",
        "Denied",
        "Reversed",
        "Canceled",
        "Refunded",
        "Partially Refunded",
    }


def test_an_unknown_status_is_quarantined_and_quoted_only_when_status_shaped() -> None:
    cleared, name = _typed({**PAYMENT, "Status": "Cleared"}, {**PAYMENT, "Status": "Ann Lee"}).rows(
        named=True
    )
    assert (cleared["quarantine_rule"], cleared["quarantine_reason"]) == (
        "known_status",
        "unknown Status 'Cleared'",
    )
    assert name["quarantine_reason"] == "unknown Status (value not shown)"


def test_an_unknown_type_is_quarantined_not_skipped() -> None:
    other, name = _typed({**PAYMENT, "Type": "Other"}, {**PAYMENT, "Type": "Ann Lee"}).rows(
        named=True
    )
    assert (other["skip_label"], other["quarantine_rule"], other["quarantine_reason"]) == (
        None,
        "known_type",
        "unknown Type 'Other'",
    )
    assert name["quarantine_reason"] == "unknown Type (value not shown)"


def test_a_sale_type_with_an_unknown_balance_impact_is_quarantined() -> None:
    row = _one(**{"Balance Impact": ""})
    assert (row["skip_label"], row["quarantine_rule"]) == (None, "known_balance_impact")


# -- skipped rows are counted, never judged ---------------------------------------------------


def test_a_skipped_row_breaking_every_rule_is_not_quarantined() -> None:
    broken = {
        **CARD_SPEND,
        "Transaction ID": "",
        "Gross": "lots",
        "Fee": "x",
        "Currency": "dollars",
        "Status": "Placed",
        "Date": "",
        "TimeZone": "XYZ",
        "From Email Address": "",
        "To Email Address": "",
    }
    row = _typed(broken).row(0, named=True)
    assert row["skip_label"] == "General PayPal Debit Card Transaction"
    assert (row["quarantine_rule"], row["quarantine_reason"]) == (None, None)


def test_structure_rules_still_judge_a_skipped_row() -> None:
    raw = _raw(CARD_SPEND).with_columns(
        pl.lit("line 7 has 40 fields, the header 42").alias(fields.STRUCTURE_ERROR_COLUMN)
    )
    typed = fields.type_rows(raw, PAYPAL_ACTIVITY.typed_columns(), PAYPAL_ACTIVITY.row_rules())
    assert typed.row(0, named=True)["quarantine_rule"] == "well_formed_row"


# -- exact values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "amount"),
    [
        ("22", Decimal("22.00")),
        ("21.07", Decimal("21.07")),
        ("-0.93", Decimal("-0.93")),
        ("-22.00", Decimal("-22.00")),
        ("17,463.22", Decimal("17463.22")),
        ("-1,497", Decimal("-1497.00")),
        ("1,234,567.5", Decimal("1234567.50")),
    ],
)
def test_gross_is_an_exact_decimal(gross: str, amount: Decimal) -> None:
    row = _one(Gross=gross, Fee=None, Net=None)
    assert row["amount"] == amount
    assert row["quarantine_rule"] is None


@pytest.mark.parametrize("gross", ["12,34.00", "1.234,50", "$22.00", "22.001", "(22.00)", "- 22"])
def test_gross_that_is_not_exact_is_quarantined(gross: str) -> None:
    row = _one(Gross=gross)
    assert (row["amount"], row["quarantine_rule"]) == (None, "amount_parses")
    assert row["quarantine_reason"].startswith("Gross ")


def test_gross_beyond_numeric_12_2_is_quarantined() -> None:
    assert _one(Gross="10,000,000,000.00")["quarantine_rule"] == "amount_parses"


def test_fee_and_net_are_kept_exactly_and_may_be_empty() -> None:
    row = _one()
    assert (row["amount"], row["fee"], row["net"]) == (
        Decimal("22.00"),
        Decimal("-0.93"),
        Decimal("21.07"),
    )
    empty = _one(Fee="", Net="")
    assert (empty["fee"], empty["net"], empty["quarantine_rule"]) == (None, None, None)
    bad = _one(Fee="0,93")
    assert (bad["quarantine_rule"], bad["quarantine_reason"]) == (
        "fee_net_parse",
        "Fee '0,93' is not an exact amount",
    )


@pytest.mark.parametrize(
    ("date", "time", "zone", "utc"),
    [
        ("01/01/2025", "3:32:17", "MST", datetime(2025, 1, 1, 10, 32, 17, tzinfo=UTC)),
        ("07/04/2025", "23:15:00", "MDT", datetime(2025, 7, 5, 5, 15, tzinfo=UTC)),
        # The hour that happens twice when Mountain time falls back: the zone says which.
        ("11/02/2025", "1:30:00", "MDT", datetime(2025, 11, 2, 7, 30, tzinfo=UTC)),
        ("11/02/2025", "1:30:00", "MST", datetime(2025, 11, 2, 8, 30, tzinfo=UTC)),
        ("03/09/2025", "3:05:00", "MDT", datetime(2025, 3, 9, 9, 5, tzinfo=UTC)),
        ("12/31/2024", "21:00:00", "PST", datetime(2025, 1, 1, 5, 0, tzinfo=UTC)),
        ("06/01/2025", "12:00:00", "EDT", datetime(2025, 6, 1, 16, 0, tzinfo=UTC)),
        ("06/01/2025", "12:00:00", "HST", datetime(2025, 6, 1, 22, 0, tzinfo=UTC)),
        ("06/01/2025", "12:00:00", "AKDT", datetime(2025, 6, 1, 20, 0, tzinfo=UTC)),
        ("06/01/2025", "12:00:00", "GMT", datetime(2025, 6, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_date_time_and_zone_become_utc(date: str, time: str, zone: str, utc: datetime) -> None:
    row = _one(Date=date, Time=time, TimeZone=zone)
    assert (row["transaction_date"], row["quarantine_rule"]) == (utc, None)


def test_the_time_zone_map_names_the_us_abbreviations_paypal_writes() -> None:
    assert TIME_ZONE_OFFSETS["MST"] == -420
    assert TIME_ZONE_OFFSETS["MDT"] == -360
    assert set(TIME_ZONE_OFFSETS) == {
        "UTC", "GMT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT",
        "HST",
    }  # fmt: skip


@pytest.mark.parametrize("zone", ["IST", "mst", "America/Denver", "", "UTC-7"])
def test_a_time_zone_not_named_exactly_is_quarantined(zone: str) -> None:
    row = _one(TimeZone=zone)
    assert (row["transaction_date"], row["quarantine_rule"]) == (None, "known_time_zone")


@pytest.mark.parametrize(
    ("date", "time"), [("2025-01-01", "3:32:17"), ("13/01/2025", "3:32:17"), ("01/01/2025", "")]
)
def test_a_date_and_time_that_do_not_parse_are_quarantined(date: str, time: str) -> None:
    row = _one(Date=date, Time=time)
    assert (row["transaction_date"], row["quarantine_rule"]) == (None, "date_parses")


# -- the customer and the rest ----------------------------------------------------------------


def test_the_customer_is_the_payer_of_a_payment_and_the_payee_of_a_refund() -> None:
    refund = {
        **PAYMENT,
        "Type": "Payment Refund",
        "Gross": "-22.00",
        "Fee": "0.44",
        "Net": "-21.56",
        "From Email Address": "hello@starhouse.example.org",
        "To Email Address": "  Ann.Lee@EXAMPLE.com",
        "Transaction ID": "2AB34567CD890123E",
        "Reference Txn ID": "8MC585209K746392H",
        "Balance Impact": "Debit",
    }
    payment, back = _typed(PAYMENT, refund).rows(named=True)
    assert payment["email"] == back["email"] == "ann.lee@example.com"
    assert (back["transaction_type"], back["amount"], back["reference_txn_id"]) == (
        "refund",
        Decimal("-22.00"),
        payment["external_transaction_id"],
    )
    assert back["quarantine_rule"] is None


def test_a_payment_without_a_valid_payer_email_is_quarantined() -> None:
    row = _one(**{"From Email Address": "ann.lee at example.com"})
    assert row["quarantine_rule"] == "email_valid"
    assert "ann" not in row["quarantine_reason"]


def test_transaction_id_must_be_present_and_paypal_shaped() -> None:
    assert _one(**{"Transaction ID": " "})["quarantine_rule"] == "id_present"
    row = _one(**{"Transaction ID": "ann.lee@example.com"})
    assert (row["quarantine_rule"], row["quarantine_reason"]) == (
        "id_shape",
        "Transaction ID (value not shown) is not a PayPal transaction id",
    )


def test_billing_fields_offer_and_references_are_carried() -> None:
    row = _one()
    assert {
        key: row[key]
        for key in (
            "external_transaction_id", "currency", "paypal_type", "customer_name", "phone",
            "address_line_1", "address_line_2", "city", "state", "postal_code", "country",
            "offer_title", "offer_id", "item_id", "reference_txn_id", "balance_impact",
        )
    } == {
        "external_transaction_id": "8MC585209K746392H",
        "currency": "USD",
        "paypal_type": "Subscription Payment",
        "customer_name": "Ann Lee",
        "phone": "303-555-0142",
        "address_line_1": "12 Pearl St",
        "address_line_2": "Apt 2",
        "city": "Boulder",
        "state": "CO",
        "postal_code": "80302",
        "country": "US",
        "offer_title": "antares starhouse membership",
        "offer_id": None,
        "item_id": "ANT-1",
        "reference_txn_id": "I-ABCDEF123456",
        "balance_impact": "Credit",
    }  # fmt: skip
    assert _one(**{"Country Code": ""})["country"] == "United States"


def test_typed_columns_have_exact_dtypes() -> None:
    schema = _typed(PAYMENT).schema
    assert (schema["amount"], schema["fee"], schema["net"]) == (fields.MONEY,) * 3
    assert schema["transaction_date"] == fields.UTC_TIMESTAMP
    assert schema["is_donation"] == pl.Boolean
    assert schema["offer_id"] == pl.String


# -- the model and the spec -------------------------------------------------------------------


def _model_frame(*rows: dict[str, str]) -> pl.DataFrame:
    typed = _typed(*rows)
    return typed.filter(pl.col("skip_label").is_null() & pl.col("quarantine_rule").is_null())


def test_the_model_accepts_sales_and_refunds() -> None:
    refund = {**PAYMENT, "Type": "Payment Refund", "Gross": "-22", "Fee": "", "Net": ""}
    refund |= {"Balance Impact": "Debit", "To Email Address": "ann.lee@example.com"}
    frame = _model_frame(PAYMENT, refund)
    assert frame.height == 2
    PaypalTransaction.validate(frame)


@pytest.mark.parametrize(
    ("row", "check"),
    [
        ({"Type": "Payment Refund", "Balance Impact": "Debit", "Gross": "22", "Fee": "", "Net": ""},
         "refund_amount_is_not_positive"),
        ({"Gross": "-22", "Fee": "", "Net": ""}, "sale_amount_is_not_negative"),
        ({"Net": "21.00"}, "net_is_gross_plus_fee"),
    ],
)  # fmt: skip
def test_the_model_refuses_wrong_signs_and_inconsistent_net(row: dict, check: str) -> None:
    frame = _model_frame({**PAYMENT, "To Email Address": "ann.lee@example.com", **row})
    with pytest.raises(pandera.errors.SchemaErrors) as raised:
        PaypalTransaction.validate(frame, lazy=True)
    assert check in str(raised.value.failure_cases["check"].to_list())
    assert check in PAYPAL_ACTIVITY.model_reasons


def test_the_spec_recognizes_and_maps_a_paypal_header() -> None:
    assert len(PAYPAL_COLUMNS) == len(set(PAYPAL_COLUMNS)) == 42
    assert set(PAYPAL_ACTIVITY.required) <= set(PAYPAL_COLUMNS)
    assert PAYPAL_ACTIVITY.delimiter == "\t"
    header = ["\ufeffDate", *PAYPAL_COLUMNS[1:]]
    assert recognize(header, [PAYPAL_ACTIVITY]) is PAYPAL_ACTIVITY
    assert recognize(["ID", "Amount", "Gross"], [PAYPAL_ACTIVITY]) is None
    mapping = map_header(PAYPAL_ACTIVITY, "activity.tsv", header)
    assert mapping.canonical_names == PAYPAL_COLUMNS
    assert mapping.missing_optional == mapping.extra == ()
