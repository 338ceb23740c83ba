"""Product performance and the products customers buy together."""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.analytics.frames import (
    completed_refunds,
    completed_sales,
    divide_money,
    money_sum,
    rate,
)

PRODUCT_KEYS = ("product_id", "currency")


def product_performance(transactions: pl.DataFrame) -> pl.DataFrame:
    """Per product and currency: net revenue, sales, customers, average price, refund rate.

    Average price is gross ÷ completed sales; refund rate is refunded amount ÷ gross
    (by money, because a partial refund is not a whole lost sale).
    """
    is_sale, is_refund = completed_sales(), completed_refunds()
    performance = (
        transactions.filter(pl.col("product_id").is_not_null())
        .group_by(PRODUCT_KEYS)
        .agg(
            pl.col("product_name").drop_nulls().first(),
            money_sum(pl.col("amount").filter(is_sale)).alias("gross"),
            (-money_sum(pl.col("amount").filter(is_refund))).alias("refunded"),
            is_sale.sum().cast(pl.Int64).alias("sales"),
            is_refund.sum().cast(pl.Int64).alias("refund_count"),
            pl.col("contact_id").filter(is_sale).n_unique().cast(pl.Int64).alias("customers"),
        )
        .filter((pl.col("sales") > 0) | (pl.col("refund_count") > 0))
    )
    return performance.with_columns(
        (pl.col("gross") - pl.col("refunded")).alias("net"),
        divide_money(pl.col("gross"), pl.col("sales")).alias("average_price"),
        rate(pl.col("refunded"), pl.col("gross")).alias("refund_rate"),
    ).sort(["net", "product_id"], descending=[True, False])


def product_pairs(transactions: pl.DataFrame, min_customers: int) -> pl.DataFrame:
    """Pairs of products bought by the same customers (any time), with support and lift.

    support = customers with both ÷ all buying customers; confidence A→B = both ÷ buyers of A;
    lift = support(A,B) ÷ (support(A) × support(B)), above 1 when bought together more than
    chance would give. Pairs with fewer than `min_customers` customers are left out.
    """
    bought = (
        transactions.filter(completed_sales() & pl.col("product_id").is_not_null())
        .select("contact_id", "product_id", "product_name")
        .unique(["contact_id", "product_id"])
    )
    buyers = bought.get_column("contact_id").n_unique()
    per_product = bought.group_by("product_id").agg(
        pl.len().cast(pl.Int64).alias("customers"), pl.col("product_name").first()
    )
    pairs = (
        bought.join(bought, on="contact_id", suffix="_b")
        .filter(pl.col("product_id") < pl.col("product_id_b"))
        .group_by("product_id", "product_id_b")
        .agg(pl.len().cast(pl.Int64).alias("customers_with_both"))
        .filter(pl.col("customers_with_both") >= min_customers)
    )
    a = per_product.rename({"customers": "customers_a", "product_name": "product_name_a"})
    b = per_product.rename(
        {"product_id": "product_id_b", "customers": "customers_b", "product_name": "product_name_b"}
    )
    both = pl.col("customers_with_both")
    return (
        pairs.join(a, on="product_id")
        .join(b, on="product_id_b")
        .select(
            pl.col("product_id").alias("product_id_a"),
            "product_name_a",
            "product_id_b",
            "product_name_b",
            "customers_with_both",
            rate(both, pl.lit(buyers)).alias("support"),
            rate(both, pl.col("customers_a")).alias("confidence_a_to_b"),
            rate(both, pl.col("customers_b")).alias("confidence_b_to_a"),
            rate(both * buyers, pl.col("customers_a") * pl.col("customers_b")).alias("lift"),
        )
        .sort(["customers_with_both", "lift", "product_id_a"], descending=[True, True, False])
    )
