"""Revenue by month: gross sales, refunds and net, by product and by source system.

Revenue is completed rows only (the import's rule): failed and pending rows are never money
received. Refunds are negative rows and count in the month the refund happened.
"""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.analytics.frames import (
    COMPLETED,
    completed_refunds,
    completed_sales,
    money_sum,
    month_of,
)

REVENUE_KEYS = ("month", "currency", "source_system", "product_id")


def revenue_by_month(transactions: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """One row per (month, currency, source system, product): gross, refunds, adjustments, net.

    `net` is every completed row summed, so the months add up exactly to the import's
    reconciled revenue; `adjustments` holds completed rows that are neither sale nor refund.
    """
    completed = transactions.filter(pl.col("status") == COMPLETED).with_columns(
        month_of("transaction_date", timezone).alias("month")
    )
    is_sale, is_refund = completed_sales(), completed_refunds()
    return (
        completed.group_by(REVENUE_KEYS)
        .agg(
            pl.col("product_name").drop_nulls().first(),
            money_sum(pl.col("amount").filter(is_sale)).alias("gross"),
            money_sum(pl.col("amount").filter(is_refund)).alias("refunds"),
            money_sum(pl.col("amount").filter(~is_sale & ~is_refund)).alias("adjustments"),
            money_sum(pl.col("amount")).alias("net"),
            is_sale.sum().cast(pl.Int64).alias("sales"),
            is_refund.sum().cast(pl.Int64).alias("refund_count"),
            pl.col("contact_id").filter(is_sale).n_unique().cast(pl.Int64).alias("customers"),
        )
        .sort(REVENUE_KEYS, nulls_last=True)
    )


def revenue_totals(
    revenue: pl.DataFrame, by: tuple[str, ...] = ("month", "currency")
) -> pl.DataFrame:
    """Roll the fine-grained table up to `by` (customers are not additive, so dropped)."""
    return (
        revenue.group_by(by)
        .agg(
            money_sum(pl.col(column)).alias(column)
            for column in ("gross", "refunds", "adjustments", "net")
        )
        .sort(by, nulls_last=True)
    )
