"""Refunds: each refund linked to the charge it reverses, and refund rates per product and month.

A refund is linked to a completed sale of the same customer, product and currency, made
on or before the refund, for at least the refunded amount: a sale of exactly that amount
first (a full refund), else the latest larger one (a partial refund). A refund no sale
explains stays unlinked and is reported, never guessed further.
"""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.analytics.frames import (
    completed_refunds,
    completed_sales,
    money_sum,
    month_of,
    rate,
)

_MATCH_KEYS = ("contact_id", "product_id", "currency")
_SECONDS_PER_DAY = 86_400


def link_refunds(transactions: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """One row per completed refund: the charge it reverses and how it was linked."""
    refunds = transactions.filter(completed_refunds()).select(
        pl.col("transaction_id").alias("refund_transaction_id"),
        *_MATCH_KEYS,
        pl.col("transaction_date").alias("refunded_at"),
        month_of("transaction_date", timezone).alias("month"),
        (-pl.col("amount")).alias("refund_amount"),
    )
    sales = transactions.filter(completed_sales()).select(
        pl.col("transaction_id").alias("charge_transaction_id"),
        *_MATCH_KEYS,
        pl.col("transaction_date").alias("charged_at"),
        pl.col("amount").alias("charge_amount"),
    )
    candidates = (
        refunds.join(sales, on=_MATCH_KEYS, how="inner", nulls_equal=True)
        .filter(
            (pl.col("charged_at") <= pl.col("refunded_at"))
            & (pl.col("charge_amount") >= pl.col("refund_amount"))
        )
        .with_columns((pl.col("charge_amount") == pl.col("refund_amount")).alias("_exact"))
        .sort(["_exact", "charged_at"], descending=True)
        .unique("refund_transaction_id", keep="first")
    )
    linked = refunds.join(
        candidates.select(
            "refund_transaction_id",
            "charge_transaction_id",
            "charged_at",
            "charge_amount",
            "_exact",
        ),
        on="refund_transaction_id",
        how="left",
    )
    elapsed = (pl.col("refunded_at") - pl.col("charged_at")).dt.total_seconds()
    return linked.select(
        "refund_transaction_id",
        "charge_transaction_id",
        *_MATCH_KEYS,
        "month",
        "refund_amount",
        "charge_amount",
        pl.when(pl.col("_exact"))
        .then(pl.lit("full"))
        .when(pl.col("charge_transaction_id").is_not_null())
        .then(pl.lit("partial"))
        .otherwise(pl.lit("unlinked"))
        .alias("link"),
        (elapsed / _SECONDS_PER_DAY).round(2).alias("days_after_charge"),
    ).sort("refund_transaction_id")


def fully_refunded_charges(links: pl.DataFrame) -> pl.Series:
    """Ids of charges whose linked refunds add up to the whole charge."""
    return (
        links.filter(pl.col("charge_transaction_id").is_not_null())
        .group_by("charge_transaction_id")
        .agg(pl.col("refund_amount").sum(), pl.col("charge_amount").first())
        .filter(pl.col("refund_amount") >= pl.col("charge_amount"))
        .get_column("charge_transaction_id")
    )


def refunds_by_month(
    transactions: pl.DataFrame, links: pl.DataFrame, timezone: str
) -> pl.DataFrame:
    """Per month, product and currency: sales, refunds, and the refund rates.

    refund_rate is refunded amount ÷ gross sales of the same month and product (money);
    refund_count_rate is refunds ÷ sales (counts). Both use the month of each row, so a
    refund of last month's sale lowers this month.
    """
    keys = ["month", "currency", "product_id"]
    sales = (
        transactions.filter(completed_sales())
        .with_columns(month_of("transaction_date", timezone).alias("month"))
        .group_by(keys)
        .agg(
            pl.col("product_name").drop_nulls().first(),
            pl.len().cast(pl.Int64).alias("sales"),
            money_sum(pl.col("amount")).alias("gross"),
        )
    )
    refunds = links.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("refund_count"),
        money_sum(pl.col("refund_amount")).alias("refunded"),
        (pl.col("link") == "full").sum().cast(pl.Int64).alias("full_refunds"),
        (pl.col("link") == "partial").sum().cast(pl.Int64).alias("partial_refunds"),
    )
    names = transactions.select("product_id", "product_name").drop_nulls().unique("product_id")
    joined = sales.join(refunds, on=keys, how="full", coalesce=True, nulls_equal=True)
    return (
        joined.drop("product_name")
        .join(names, on="product_id", how="left")
        .with_columns(
            pl.col("sales", "refund_count", "full_refunds", "partial_refunds").fill_null(0),
            pl.col("gross", "refunded").fill_null(0),
        )
        .with_columns(
            rate(pl.col("refunded"), pl.col("gross")).alias("refund_rate"),
            rate(pl.col("refund_count"), pl.col("sales")).alias("refund_count_rate"),
        )
        .sort(keys, nulls_last=True)
    )
