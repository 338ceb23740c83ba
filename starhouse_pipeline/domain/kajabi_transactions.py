"""The Kajabi transactions export: its columns, how its text is typed, its rules, its spec.

Typing turns the text into exact values (Decimal money, UTC timestamps, mapped codes); each
rule yields a reason instead of a value when the text does not say exactly one thing; the
pandera model is the contract of a typed transaction.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.export_spec import ExportSpec
from starhouse_pipeline.domain.fields import (
    MONEY,
    UTC_TIMESTAMP,
    Rule,
    structure_rules,
    text,
)
from starhouse_pipeline.domain.mapping import (
    CRM_STATUSES,
    CRM_TRANSACTION_TYPES,
    STATUSES,
    TRANSACTION_TYPES,
)
from starhouse_pipeline.domain.masking import quoted_if_shaped
from starhouse_pipeline.domain.signed_amounts import SignedAmounts

# Column order of Sales → Payments → Transactions → Export.
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "ID",
    "Amount",
    "Currency",
    "Status",
    "Type",
    "Payment Method",
    "Created At",
    "Order No.",
    "Provider",
    "Offer ID",
    "Offer Title",
    "Customer ID",
    "Customer Name",
    "Customer Email",
    "Phone",
    "Address",
    "Address 2",
    "City",
    "State",
    "Zipcode",
    "Country",
    "Coupon Used",
    "Card Brand",
    "Card Funding",
    "Tax Amount",
    "Quantity",
    "Charge Attempt",
    "Failure Message",
)

# The columns the business rules cannot work without. The rest are carried when present
# (older exports lack some of them) and treated as empty when absent.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "ID",
    "Amount",
    "Currency",
    "Status",
    "Type",
    "Created At",
    "Offer ID",
    "Offer Title",
    "Customer Name",
    "Customer Email",
)

# Names other tools (or older exports) give the same columns, after normalization.
_ALIASES: dict[str, str] = {
    "order number": "Order No.",
    "zip": "Zipcode",
    "zip code": "Zipcode",
    "postal code": "Zipcode",
    "address 1": "Address",
    "address line 1": "Address",
    "address line 2": "Address 2",
    "phone number": "Phone",
}


# US-style amounts as Kajabi writes them ("22.00", "-22.00"), plus the forms a spreadsheet
# round-trip produces ("$1,234.50", "-$22.00", "$-22.00"): one optional sign, one optional
# dollar sign, thousands separators only in groups of three, at most two decimals.
# Accounting parentheses ("(12.00)"), other currency symbols and other locales ("1.234,50")
# are refused: Kajabi never writes them, and a refund is a separate negative row.
_AMOUNT_PATTERN = r"^(?:-\$?|\$-?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"
_MAX_ABS_AMOUNT = 10**10  # NUMERIC(12,2)
# Shapes a value must have for a reason to quote it (see masking.quoted_if_shaped): a
# misplaced name, email, phone or street never has them. Kajabi's codes are lower case.
_ID_SHAPE = r"[A-Za-z0-9_-]{1,24}"
_AMOUNT_SHAPE = r"[0-9$€£(),.+ -]{1,20}"
_CODE_SHAPE = r"[a-z][a-z_ ]{0,24}|[A-Z$€£]{1,5}"
_DATE_SHAPE = r"[0-9 :./,TZ+-]{1,35}|[a-z]{1,12}"
# Kajabi writes `2025-11-08 04:11:00 -0700`; API-shaped ISO forms (fractional seconds, `Z` or
# `UTC` for zero offset) name their offset just as exactly, so they are accepted too.
_OFFSET_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
)
_ZERO_OFFSET_SUFFIX = r"(?i)(\s*UTC|Z)$"
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")

_TEXT_FIELDS = {
    "order_no": "Order No.",
    "payment_method": "Payment Method",
    "provider": "Provider",
    "offer_id": "Offer ID",
    "offer_title": "Offer Title",
    "customer_name": "Customer Name",
    "phone": "Phone",
    "address_line_1": "Address",
    "address_line_2": "Address 2",
    "city": "City",
    "state": "State",
    "postal_code": "Zipcode",
    "country": "Country",
}


def _amount() -> pl.Expr:
    value = text("Amount")
    negative = value.str.contains("-", literal=True)
    magnitude = (
        value.str.replace_all(r"[-$,]", "").str.to_decimal(scale=2).cast(MONEY, strict=False)
    )
    exact = pl.when(value.str.contains(_AMOUNT_PATTERN)).then(magnitude)
    return pl.when(negative).then(-exact).otherwise(exact)


def _created_at() -> pl.Expr:
    value = text("Created At").str.replace(_ZERO_OFFSET_SUFFIX, "+0000")
    return pl.coalesce(
        value.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        for fmt in _OFFSET_FORMATS
    )


def _naive_created_at() -> pl.Expr:
    value = text("Created At")
    return pl.coalesce(value.str.to_datetime(fmt, strict=False) for fmt in _NAIVE_FORMATS)


def type_columns() -> list[pl.Expr]:
    """Expressions producing the typed columns from the export's text columns."""
    kajabi_type = text("Type").str.to_lowercase()
    kajabi_status = text("Status").str.to_lowercase()
    return [
        text("ID").alias("external_transaction_id"),
        _amount().alias("amount"),
        text("Currency").str.to_uppercase().alias("currency"),
        kajabi_type.alias("kajabi_type"),
        kajabi_type.replace_strict(TRANSACTION_TYPES, default=None).alias("transaction_type"),
        kajabi_status.alias("kajabi_status"),
        kajabi_status.replace_strict(STATUSES, default=None).alias("status"),
        _created_at().alias("transaction_date"),
        text("Customer Email").str.to_lowercase().alias("email"),
        *(text(source).alias(name) for name, source in _TEXT_FIELDS.items()),
    ]


def row_rules() -> list[Rule]:
    """Every row-level rule, in the order their reasons are reported."""
    raw = pl.col
    return [
        *structure_rules(),
        Rule(
            "id_present",
            raw("external_transaction_id").is_null(),
            pl.lit("ID is empty"),
        ),
        Rule(
            "id_numeric",
            ~raw("external_transaction_id").str.contains(r"^\d{1,18}$"),
            pl.format(
                "ID {} is not a transaction number",
                quoted_if_shaped(raw("external_transaction_id"), _ID_SHAPE),
            ),
        ),
        Rule(
            "amount_parses",
            raw("amount").is_null() | (raw("amount").abs() >= _MAX_ABS_AMOUNT),
            pl.when(text("Amount").is_null())
            .then(pl.lit("Amount is empty"))
            .otherwise(
                pl.format(
                    "Amount {} is not an exact dollar amount",
                    quoted_if_shaped(text("Amount"), _AMOUNT_SHAPE, max_digits=9),
                )
            ),
        ),
        Rule(
            "currency_code",
            ~raw("currency").str.contains(patterns.CURRENCY).fill_null(False),
            pl.format(
                "Currency {} is not an ISO code", quoted_if_shaped(text("Currency"), _CODE_SHAPE)
            ),
        ),
        Rule(
            "known_type",
            raw("transaction_type").is_null(),
            pl.format("unknown Type {}", quoted_if_shaped(text("Type"), _CODE_SHAPE)),
        ),
        Rule(
            "known_status",
            raw("status").is_null(),
            pl.format("unknown Status {}", quoted_if_shaped(text("Status"), _CODE_SHAPE)),
        ),
        Rule(
            "created_at_offset",
            raw("transaction_date").is_null() & _naive_created_at().is_not_null(),
            pl.format(
                "Created At {} has no time-zone offset",
                quoted_if_shaped(text("Created At"), _DATE_SHAPE, max_digits=20),
            ),
            screen=raw("transaction_date").is_null(),
        ),
        Rule(
            "created_at_parses",
            raw("transaction_date").is_null() & _naive_created_at().is_null(),
            pl.format(
                "Created At {} is not a date and time",
                quoted_if_shaped(text("Created At"), _DATE_SHAPE, max_digits=20),
            ),
            screen=raw("transaction_date").is_null(),
        ),
        Rule(
            "email_valid",
            ~raw("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit("Customer Email is missing or malformed"),
        ),
    ]


class TypedTransaction(SignedAmounts):
    """One Kajabi transaction after typing: what the warehouse may store."""

    external_transaction_id: str = pa.Field(str_matches=r"^\d{1,18}$")
    amount: MONEY = pa.Field()
    currency: str = pa.Field(str_matches=patterns.CURRENCY)
    transaction_type: str = pa.Field(isin=list(CRM_TRANSACTION_TYPES))
    status: str = pa.Field(isin=list(CRM_STATUSES))
    transaction_date: UTC_TIMESTAMP = pa.Field()
    email: str = pa.Field(str_matches=patterns.EMAIL)
    offer_id: str = pa.Field(nullable=True, str_matches=r"^\S+$")


TRANSACTIONS = ExportSpec(
    name="Kajabi transactions",
    columns=TRANSACTION_COLUMNS,
    required=REQUIRED_COLUMNS,
    id_column="external_transaction_id",
    typed_columns=type_columns,
    row_rules=row_rules,
    aliases=_ALIASES,
    model=TypedTransaction,
    model_reasons={
        "refund_amount_is_not_positive": "refund is positive",
        "sale_amount_is_not_negative": "purchase or subscription is negative",
    },
    email_column="Customer Email",
    how_to_export="export the transactions from Kajabi as CSV",
    signature=frozenset({"ID", "Type", "Amount", "Customer Email"}),
)
