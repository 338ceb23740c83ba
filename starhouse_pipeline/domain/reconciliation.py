"""Reconciliation arithmetic: exact counts and sums per transaction type, status and currency."""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.mapping import REVENUE_STATUS

TOTALS_KEYS = ("transaction_type", "status", "currency")


def totals_by_kind(transactions: pl.DataFrame) -> pl.DataFrame:
    """Row count and exact amount per (type, status, currency)."""
    return (
        transactions.group_by(TOTALS_KEYS)
        .agg(pl.len().cast(pl.Int64).alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort(TOTALS_KEYS)
    )


def compare_totals(expected: pl.DataFrame, actual: pl.DataFrame) -> pl.DataFrame:
    """Rows of the (type, status, currency) groups whose count or amount differ."""
    joined = expected.join(actual, on=TOTALS_KEYS, how="full", coalesce=True, suffix="_loaded")
    return joined.filter(
        ~pl.col("rows").eq_missing(pl.col("rows_loaded"))
        | ~pl.col("amount").eq_missing(pl.col("amount_loaded"))
    ).sort(TOTALS_KEYS)


def revenue_by_currency(transactions: pl.DataFrame) -> pl.DataFrame:
    """Revenue is completed rows only; refunds are negative rows and so reduce it."""
    return (
        transactions.filter(pl.col("status") == REVENUE_STATUS)
        .group_by("currency")
        .agg(pl.col("amount").sum().alias("revenue"))
        .sort("currency")
    )


def not_revenue_by_status(transactions: pl.DataFrame) -> pl.DataFrame:
    """Failed and pending money, reported apart and never counted as revenue."""
    return (
        transactions.filter(pl.col("status") != REVENUE_STATUS)
        .group_by("status", "currency")
        .agg(pl.len().alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort("status", "currency")
    )
