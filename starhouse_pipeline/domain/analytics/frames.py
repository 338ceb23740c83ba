"""The shapes the analytics read, the operator's choices, and the month and money helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.settings import BUSINESS_TIMEZONE

MONEY = pl.Decimal(12, 2)
TOTAL = pl.Decimal(38, 2)
RATE_DECIMALS = 4
COMPLETED = "completed"
FAILED = "failed"
REFUND = "refund"
SALE_TYPES = ("purchase", "subscription")

TRANSACTIONS_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": CRM_KEY(),
    "source_system": pl.String(),
    "transaction_date": pl.Datetime("us", "UTC"),
    "transaction_type": pl.String(),
    "status": pl.String(),
    "amount": MONEY,
    "currency": pl.String(),
    "contact_id": CRM_KEY(),
    "product_id": CRM_KEY(),
    "product_name": pl.String(),
}


@dataclass(frozen=True)
class MetricOptions:
    """The operator's choices; the defaults are the ones docs/metrics.md justifies."""

    reporting_timezone: str = BUSINESS_TIMEZONE
    recovery_window_days: int = 30
    past_due_grace_days: int = 14
    refunded_signups_count_in_mrr: bool = False
    ltv_churn_window_months: int = 12
    min_pair_customers: int = 2


def transactions_frame(rows: list[dict] | None = None) -> pl.DataFrame:
    """A transactions frame with the exact analytics schema (missing columns become null)."""
    rows = rows or []
    columns = {name: [row.get(name) for row in rows] for name in TRANSACTIONS_SCHEMA}
    return pl.DataFrame(columns, schema=TRANSACTIONS_SCHEMA)


def month_of(column: str, timezone: str) -> pl.Expr:
    """The first day of the reporting-time-zone month a UTC timestamp falls in."""
    local = pl.col(column).dt.convert_time_zone(timezone)
    return local.dt.truncate("1mo").dt.date()


def next_month(expr: pl.Expr) -> pl.Expr:
    return expr.dt.offset_by("1mo")


def month_start_utc(month: pl.Expr, timezone: str) -> pl.Expr:
    """Midnight of a month's first day in the reporting time zone, as a UTC timestamp."""
    local = month.cast(pl.Datetime("us")).dt.replace_time_zone(timezone, ambiguous="earliest")
    return local.dt.convert_time_zone("UTC")


def completed_sales() -> pl.Expr:
    return (pl.col("status") == COMPLETED) & pl.col("transaction_type").is_in(SALE_TYPES)


def completed_refunds() -> pl.Expr:
    return (pl.col("status") == COMPLETED) & (pl.col("transaction_type") == REFUND)


def money_sum(expr: pl.Expr) -> pl.Expr:
    """An exact sum that is 0.00, not null, when nothing matches."""
    return expr.sum().cast(TOTAL).fill_null(0)


def divide_money(amount: pl.Expr, divisor: pl.Expr) -> pl.Expr:
    """amount ÷ divisor to the cent, half away from zero, in integer cents (never float).

    Null when the divisor is zero or null.
    """
    cents = (amount * 100).cast(pl.Int64)
    halves = cents.abs() * 2 + divisor.abs()
    rounded = (halves // (divisor.abs() * 2)) * cents.sign() * divisor.sign()
    return pl.when(divisor != 0).then(cents_to_money(rounded))


def cents_to_money(cents: pl.Expr) -> pl.Expr:
    return cents.cast(pl.Decimal(38, 0)).cast(TOTAL) / 100


def rate(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """A ratio as Float64 rounded to RATE_DECIMALS places; null when the denominator is 0."""
    ratio = numerator.cast(pl.Float64) / denominator.cast(pl.Float64)
    return pl.when(denominator != 0).then(ratio.round(RATE_DECIMALS))


def transaction_months(transactions: pl.DataFrame, timezone: str) -> pl.Series:
    """The months of the completed rows: the period an all-time metric covers."""
    completed = transactions.filter(pl.col("status") == COMPLETED)
    return completed.select(month_of("transaction_date", timezone).alias("month")).to_series()


def month_range(first: date, last: date) -> pl.Series:
    return pl.date_range(first, last, "1mo", eager=True).alias("month")
