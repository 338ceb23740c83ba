"""Customers over time: monthly signup cohorts and the realized value of each customer."""

from __future__ import annotations

from datetime import date

import polars as pl

from starhouse_pipeline.domain.analytics.frames import (
    COMPLETED,
    completed_refunds,
    completed_sales,
    divide_money,
    money_sum,
    month_of,
    rate,
)

CUSTOMER = ("contact_id", "currency")


def customer_value(transactions: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Realized value per customer: net revenue received so far (sales minus refunds)."""
    completed = transactions.filter(
        (pl.col("status") == COMPLETED) & pl.col("contact_id").is_not_null()
    ).with_columns(month_of("transaction_date", timezone).alias("month"))
    return (
        completed.group_by(CUSTOMER)
        .agg(
            pl.col("month").filter(completed_sales()).min().alias("first_month"),
            pl.col("month").max().alias("last_month"),
            money_sum(pl.col("amount").filter(completed_sales())).alias("gross"),
            money_sum(pl.col("amount").filter(completed_refunds())).alias("refunds"),
            money_sum(pl.col("amount")).alias("net_revenue"),
            completed_sales().sum().cast(pl.Int64).alias("sales"),
        )
        .filter(pl.col("first_month").is_not_null())
        .sort(CUSTOMER)
    )


def signup_cohorts(
    transactions: pl.DataFrame,
    customer_mrr: pl.DataFrame,
    as_of_month: date,
    timezone: str,
) -> pl.DataFrame:
    """Per signup month (first completed sale) and months since: who is still active, and
    the cohort's net revenue.

    Active in a month = a completed sale in that month, or MRR at its end (an annual
    subscriber stays active between renewals). customer_retention = active ÷ cohort size;
    revenue_retention = the month's net revenue ÷ the signup month's net revenue (cash);
    mrr_retention = the cohort's MRR at the month's end ÷ its MRR at the signup month's end.
    """
    completed = transactions.filter(
        (pl.col("status") == COMPLETED) & pl.col("contact_id").is_not_null()
    ).with_columns(month_of("transaction_date", timezone).alias("month"))
    cohort_of = (
        completed.filter(completed_sales())
        .group_by(CUSTOMER)
        .agg(pl.col("month").min().alias("cohort_month"))
    )
    buying = completed.filter(completed_sales()).select(*CUSTOMER, "month")
    subscribed = customer_mrr.filter(pl.col("mrr") > 0).select(*CUSTOMER, "month")
    active = pl.concat([buying, subscribed]).unique().join(cohort_of, on=CUSTOMER)
    revenue = (
        completed.join(cohort_of, on=CUSTOMER)
        .group_by("cohort_month", "currency", "month")
        .agg(money_sum(pl.col("amount")).alias("net_revenue"))
    )
    sizes = cohort_of.group_by("cohort_month", "currency").agg(
        pl.len().cast(pl.Int64).alias("cohort_customers")
    )
    grid = sizes.with_columns(
        pl.date_ranges("cohort_month", pl.lit(as_of_month), "1mo").alias("month")
    ).explode("month")
    counts = active.group_by("cohort_month", "currency", "month").agg(
        pl.len().cast(pl.Int64).alias("active_customers")
    )
    recurring = (
        customer_mrr.join(cohort_of, on=CUSTOMER)
        .group_by("cohort_month", "currency", "month")
        .agg(money_sum(pl.col("mrr")).alias("mrr"))
    )
    keys = ["cohort_month", "currency", "month"]
    table = (
        grid.join(counts, on=keys, how="left")
        .join(revenue, on=keys, how="left")
        .join(recurring, on=keys, how="left")
        .with_columns(
            pl.col("active_customers").fill_null(0),
            pl.col("net_revenue", "mrr").fill_null(0),
            (
                (pl.col("month").dt.year() - pl.col("cohort_month").dt.year()) * 12
                + pl.col("month").dt.month().cast(pl.Int32)
                - pl.col("cohort_month").dt.month().cast(pl.Int32)
            ).alias("months_since_signup"),
        )
        .sort(keys)
    )

    def at_signup(column: str) -> pl.Expr:
        return pl.col(column).first().over("cohort_month", "currency", order_by="month")

    return table.with_columns(
        rate(pl.col("active_customers"), pl.col("cohort_customers")).alias("customer_retention"),
        rate(pl.col("net_revenue"), at_signup("net_revenue")).alias("revenue_retention"),
        rate(pl.col("mrr"), at_signup("mrr")).alias("mrr_retention"),
    )


def retention_grid(cohorts: pl.DataFrame, months: int = 12) -> pl.DataFrame:
    """The classic triangle: one row per cohort and currency, one column per month since
    signup, each cell the customer retention rate (`domain.formatting` shows it as a
    percentage)."""
    if cohorts.is_empty():
        return cohorts
    return (
        cohorts.filter(pl.col("months_since_signup") <= months)
        .with_columns(pl.col("months_since_signup").cast(pl.String).alias("m"))
        .pivot(
            on="m",
            index=["currency", "cohort_month", "cohort_customers"],
            values="customer_retention",
        )
        .sort(["currency", "cohort_month"], descending=[False, True])
    )


def value_per_currency(values: pl.DataFrame) -> pl.DataFrame:
    """Per currency of `customer_value`: customers, total, average and median realized value,
    the currency with the most customers first."""
    return (
        values.group_by("currency")
        .agg(
            pl.len().alias("customers"),
            pl.col("net_revenue").sum().alias("net_revenue"),
            pl.col("net_revenue").median().alias("median_per_customer"),
        )
        .with_columns(
            divide_money(pl.col("net_revenue"), pl.col("customers")).alias("average_per_customer")
        )
        .sort("customers", descending=True)
    )
