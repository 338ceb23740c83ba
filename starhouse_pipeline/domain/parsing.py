"""Typing the export's text into exact values: Decimal money, UTC timestamps, mapped codes.

Each rule yields a reason instead of a value when the text does not say exactly one thing;
`QUARANTINE_RULE`/`QUARANTINE_REASON` carry the first failing rule and every reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.mapping import STATUSES, TRANSACTION_TYPES
from starhouse_pipeline.domain.masking import quoted_if_shaped
from starhouse_pipeline.domain.reading import LINE_COLUMN, STRUCTURE_ERROR_COLUMN

MONEY = pl.Decimal(12, 2)
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
QUARANTINE_RULE = "quarantine_rule"
QUARANTINE_REASON = "quarantine_reason"
MAX_FIELD_CHARS = 65_536

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


@dataclass(frozen=True)
class Rule:
    """A row-level rule: `fails` is true where the row breaks it; `reason` explains why.

    `screen`, when given, is a cheaper condition true wherever `fails` is: every row is
    screened, and only screened rows pay for `fails` and `reason`.
    """

    name: str
    fails: pl.Expr
    reason: pl.Expr
    screen: pl.Expr | None = None

    @property
    def may_fail(self) -> pl.Expr:
        return (self.fails if self.screen is None else self.screen).fill_null(False)


def _text(column: str) -> pl.Expr:
    """A field with surrounding whitespace removed; empty becomes null."""
    stripped = pl.col(column).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def _amount() -> pl.Expr:
    text = _text("Amount")
    negative = text.str.contains("-", literal=True)
    magnitude = text.str.replace_all(r"[-$,]", "").str.to_decimal(scale=2).cast(MONEY, strict=False)
    exact = pl.when(text.str.contains(_AMOUNT_PATTERN)).then(magnitude)
    return pl.when(negative).then(-exact).otherwise(exact)


def _created_at() -> pl.Expr:
    text = _text("Created At").str.replace(_ZERO_OFFSET_SUFFIX, "+0000")
    return pl.coalesce(
        text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        for fmt in _OFFSET_FORMATS
    )


def _naive_created_at() -> pl.Expr:
    text = _text("Created At")
    return pl.coalesce(text.str.to_datetime(fmt, strict=False) for fmt in _NAIVE_FORMATS)


def type_columns() -> list[pl.Expr]:
    """Expressions producing the typed columns from the export's text columns."""
    kajabi_type = _text("Type").str.to_lowercase()
    kajabi_status = _text("Status").str.to_lowercase()
    return [
        _text("ID").alias("external_transaction_id"),
        _amount().alias("amount"),
        _text("Currency").str.to_uppercase().alias("currency"),
        kajabi_type.alias("kajabi_type"),
        kajabi_type.replace_strict(TRANSACTION_TYPES, default=None).alias("transaction_type"),
        kajabi_status.alias("kajabi_status"),
        kajabi_status.replace_strict(STATUSES, default=None).alias("status"),
        _created_at().alias("transaction_date"),
        _text("Customer Email").str.to_lowercase().alias("email"),
        *(_text(source).alias(name) for name, source in _TEXT_FIELDS.items()),
    ]


def row_rules() -> list[Rule]:
    """Every row-level rule, in the order their reasons are reported."""
    raw = pl.col
    return [
        Rule(
            "well_formed_row",
            raw(STRUCTURE_ERROR_COLUMN).is_not_null(),
            raw(STRUCTURE_ERROR_COLUMN),
        ),
        Rule(
            "field_size",
            pl.max_horizontal(pl.col(pl.String).exclude(STRUCTURE_ERROR_COLUMN).str.len_bytes())
            > MAX_FIELD_CHARS,
            pl.lit(f"a field is longer than {MAX_FIELD_CHARS} bytes"),
        ),
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
            pl.when(_text("Amount").is_null())
            .then(pl.lit("Amount is empty"))
            .otherwise(
                pl.format(
                    "Amount {} is not an exact dollar amount",
                    quoted_if_shaped(_text("Amount"), _AMOUNT_SHAPE, max_digits=9),
                )
            ),
        ),
        Rule(
            "currency_code",
            ~raw("currency").str.contains(patterns.CURRENCY).fill_null(False),
            pl.format(
                "Currency {} is not an ISO code", quoted_if_shaped(_text("Currency"), _CODE_SHAPE)
            ),
        ),
        Rule(
            "known_type",
            raw("transaction_type").is_null(),
            pl.format("unknown Type {}", quoted_if_shaped(_text("Type"), _CODE_SHAPE)),
        ),
        Rule(
            "known_status",
            raw("status").is_null(),
            pl.format("unknown Status {}", quoted_if_shaped(_text("Status"), _CODE_SHAPE)),
        ),
        Rule(
            "created_at_offset",
            raw("transaction_date").is_null() & _naive_created_at().is_not_null(),
            pl.format(
                "Created At {} has no time-zone offset",
                quoted_if_shaped(_text("Created At"), _DATE_SHAPE, max_digits=20),
            ),
            screen=raw("transaction_date").is_null(),
        ),
        Rule(
            "created_at_parses",
            raw("transaction_date").is_null() & _naive_created_at().is_null(),
            pl.format(
                "Created At {} is not a date and time",
                quoted_if_shaped(_text("Created At"), _DATE_SHAPE, max_digits=20),
            ),
            screen=raw("transaction_date").is_null(),
        ),
        Rule(
            "email_valid",
            ~raw("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit("Customer Email is missing or malformed"),
        ),
    ]


def type_export_rows(raw_rows: pl.DataFrame) -> pl.DataFrame:
    """Add typed columns plus the first failing rule and all reasons to the raw rows."""
    typed = raw_rows.with_columns(type_columns())
    rules = row_rules()
    may_break_a_rule = pl.any_horizontal(rule.may_fail for rule in rules)
    screened = typed.select(may_break_a_rule).to_series().arg_true()
    # Verdicts are worked out only for the rows that may need one (usually a handful per
    # batch): formatting reasons for every row cost as much as typing the rows.
    verdicts = _verdicts(typed[screened], rules)
    failing = verdicts.get_column(QUARANTINE_RULE).is_not_null()
    verdicts, screened = verdicts.filter(failing), screened.filter(failing)
    return typed.with_columns(
        _scattered(verdicts, QUARANTINE_RULE, screened, typed.height),
        _scattered(verdicts, QUARANTINE_REASON, screened, typed.height),
    )


def _verdicts(rows: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """The first failing rule and every reason of each row (both null where none fails)."""
    failing = [pl.when(rule.fails.fill_null(False)).then(rule.reason) for rule in rules]
    first_rule = pl.coalesce(
        pl.when(rule.fails.fill_null(False)).then(pl.lit(rule.name)) for rule in rules
    )
    # A ragged row's values sit under the wrong headers: only its shape is reported.
    all_reasons = pl.concat_str(failing, separator="; ", ignore_nulls=True).replace("", None)
    return rows.select(
        first_rule.alias(QUARANTINE_RULE),
        pl.coalesce(pl.col(STRUCTURE_ERROR_COLUMN), all_reasons).alias(QUARANTINE_REASON),
    )


def _scattered(verdicts: pl.DataFrame, column: str, rows: pl.Series, height: int) -> pl.Series:
    """`verdicts[column]` placed at `rows` of an otherwise empty column of `height`."""
    empty = pl.repeat(None, height, dtype=pl.String, eager=True).alias(column)
    return empty.scatter(rows, verdicts.get_column(column)) if rows.len() else empty


__all__ = ["LINE_COLUMN", "MONEY", "QUARANTINE_REASON", "QUARANTINE_RULE", "type_export_rows"]
