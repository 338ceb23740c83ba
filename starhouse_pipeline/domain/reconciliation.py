"""Reconciliation arithmetic: exact counts and sums per transaction type, status and currency."""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.mapping import REVENUE_STATUS

TOTALS_KEYS = ("transaction_type", "status", "currency")


# Every sum here takes a frame or a scan (the stored rows of a million-row export): a scan is
# summed by the streaming engine, a batch at a time, never read whole.
Rows = pl.DataFrame | pl.LazyFrame


def totals_by_kind(transactions: Rows) -> pl.DataFrame:
    """Row count and exact amount per (type, status, currency)."""
    return (
        transactions.lazy()
        .group_by(TOTALS_KEYS)
        .agg(pl.len().cast(pl.Int64).alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort(TOTALS_KEYS)
        .collect(engine="streaming")
    )


def compare_totals(expected: pl.DataFrame, actual: pl.DataFrame) -> pl.DataFrame:
    """Rows of the (type, status, currency) groups whose count or amount differ."""
    joined = expected.join(actual, on=TOTALS_KEYS, how="full", coalesce=True, suffix="_loaded")
    return joined.filter(
        ~pl.col("rows").eq_missing(pl.col("rows_loaded"))
        | ~pl.col("amount").eq_missing(pl.col("amount_loaded"))
    ).sort(TOTALS_KEYS)


def revenue_by_currency(transactions: Rows) -> pl.DataFrame:
    """Revenue is completed rows only; refunds are negative rows and so reduce it."""
    return (
        transactions.lazy()
        .filter(pl.col("status") == REVENUE_STATUS)
        .group_by("currency")
        .agg(pl.col("amount").sum().alias("revenue"))
        .sort("currency")
        .collect(engine="streaming")
    )


def not_revenue_by_status(transactions: Rows) -> pl.DataFrame:
    """Failed and pending money, reported apart and never counted as revenue."""
    return (
        transactions.lazy()
        .filter(pl.col("status") != REVENUE_STATUS)
        .group_by("status", "currency")
        .agg(pl.len().alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort("status", "currency")
        .collect(engine="streaming")
    )
