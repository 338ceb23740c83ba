"""Monthly recurring revenue rebuilt from subscription charges, and its movements.

A completed subscription charge pays for a service period of its plan's interval (1 month,
12 for annual plans), starting when it was charged. The charge contributes its amount ÷
interval (to the cent, half away from zero) to the customer's MRR at the end of every month
the period, plus `past_due_grace_days`, still covers. So churn is recognized when the paid
period (plus grace) ends without a renewal, and a late renewal inside the grace is no churn.

A signup taken back (a subscription's first charge, refunded in full) gives no MRR unless
`refunded_signups_count_in_mrr`; any other refund leaves MRR alone.

A plan switch (the charges of one offer stop and the same customer's first charge for
another offer falls inside the last paid period) ends the old period at the switch, so the
customer is counted once, with an expansion or contraction.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from starhouse_pipeline.domain.analytics import refunds as refund_metrics
from starhouse_pipeline.domain.analytics.frames import (
    COMPLETED,
    TOTAL,
    MetricOptions,
    divide_money,
    month_of,
    rate,
)
from starhouse_pipeline.domain.keys import CRM_KEY

CUSTOMER = ("contact_id", "currency")
SUBSCRIPTION = ("contact_id", "currency", "product_id")
INTERVALS_SCHEMA = {"product_id": CRM_KEY, "interval_months": pl.Int64}
_ANNUAL_NAME = r"(?i)\b(annual|annually|yearly|year)\b"
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


def plan_intervals(
    charges: pl.DataFrame, known_intervals: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Interval in months per product: from the Subscriptions export when it knows the
    product, else 12 when the product's name says annual/yearly, else 1 (monthly)."""
    known = (
        known_intervals if known_intervals is not None else pl.DataFrame(schema=INTERVALS_SCHEMA)
    )
    products = charges.select("product_id", "product_name").unique("product_id")
    return products.join(known, on="product_id", how="left").select(
        "product_id",
        pl.coalesce(
            pl.col("interval_months"),
            pl.when(pl.col("product_name").str.contains(_ANNUAL_NAME)).then(12),
            pl.lit(1),
        ).alias("interval_months"),
        pl.when(pl.col("interval_months").is_not_null())
        .then(pl.lit("subscriptions_export"))
        .when(pl.col("product_name").str.contains(_ANNUAL_NAME))
        .then(pl.lit("product_name"))
        .otherwise(pl.lit("default_monthly"))
        .alias("interval_source"),
    )


def subscription_charges(
    transactions: pl.DataFrame,
    options: MetricOptions,
    fully_refunded: pl.Series | None = None,
    known_intervals: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Completed subscription charges with their interval, monthly amount and paid period."""
    charges = transactions.filter(
        (pl.col("status") == COMPLETED)
        & (pl.col("transaction_type") == "subscription")
        & (pl.col("amount") > 0)
        & pl.col("contact_id").is_not_null()
    )
    intervals = plan_intervals(charges, known_intervals)
    tz = options.reporting_timezone
    local = pl.col("transaction_date").dt.convert_time_zone(tz)
    period_end = local.dt.offset_by(pl.format("{}mo", pl.col("interval_months")))
    timed = (
        charges.join(intervals, on="product_id", how="left", nulls_equal=True)
        .with_columns(pl.col("interval_months").fill_null(1))
        .with_columns(
            divide_money(pl.col("amount"), pl.col("interval_months")).alias("monthly_amount"),
            (
                period_end.dt.convert_time_zone("UTC")
                + pl.duration(days=options.past_due_grace_days)
            ).alias("paid_through"),
        )
        .sort("transaction_date")
    )
    if fully_refunded is None or options.refunded_signups_count_in_mrr:
        return timed
    return _without_refunded_signups(timed, fully_refunded)


def _without_refunded_signups(charges: pl.DataFrame, fully_refunded: pl.Series) -> pl.DataFrame:
    """Drop a fully refunded charge that starts a subscription (a signup taken back).

    Only the first charge of a run counts: a refund later in a subscription's life does not
    change MRR, so it never makes a churn followed by a reactivation.
    """
    previous_end = pl.col("paid_through").shift(1).over(SUBSCRIPTION, order_by="transaction_date")
    starts_a_run = previous_end.is_null() | (previous_end <= pl.col("transaction_date"))
    refunded = pl.col("transaction_id").is_in(fully_refunded.implode())
    return charges.filter(~(starts_a_run & refunded))


def _cut_at_plan_switches(charges: pl.DataFrame) -> pl.DataFrame:
    """End a subscription's last paid period where the customer's next offer starts."""
    next_same = pl.col("transaction_date").shift(-1).over(SUBSCRIPTION, order_by="transaction_date")
    charges = charges.with_columns(
        (next_same.is_null() | (next_same >= pl.col("paid_through"))).alias("_stint_end")
    )
    starts = charges.group_by(SUBSCRIPTION).agg(pl.col("transaction_date").min().alias("_start"))
    switches = (
        charges.filter("_stint_end")
        .select("transaction_id", *SUBSCRIPTION, "transaction_date", "paid_through")
        .join(starts, on=CUSTOMER, suffix="_other")
        .filter(
            (pl.col("product_id_other").ne_missing(pl.col("product_id")))
            & (pl.col("_start") > pl.col("transaction_date"))
            & (pl.col("_start") < pl.col("paid_through"))
        )
        .group_by("transaction_id")
        .agg(pl.col("_start").min().alias("_switch_at"))
    )
    return (
        charges.join(switches, on="transaction_id", how="left")
        .with_columns(pl.min_horizontal("paid_through", "_switch_at").alias("paid_through"))
        .drop("_stint_end", "_switch_at")
    )


def customer_mrr(charges: pl.DataFrame, options: MetricOptions) -> pl.DataFrame:
    """MRR per customer (contact and currency) at the end of each month they are active.

    Active at the end of month M means the (possibly cut) paid period runs past the first
    instant of month M+1; within one subscription the latest charge sets the amount.
    """
    tz = options.reporting_timezone
    last_instant = pl.col("paid_through") - pl.duration(microseconds=1)
    covered = (
        _cut_at_plan_switches(charges)
        .with_columns(last_instant.alias("_last_instant"))
        .with_columns(
            month_of("transaction_date", tz).alias("_first"),
            month_of("_last_instant", tz).dt.offset_by("-1mo").alias("_last"),
        )
    )
    months = (
        covered.filter(pl.col("_last") >= pl.col("_first"))
        .with_columns(pl.date_ranges("_first", "_last", "1mo").alias("month"))
        .explode("month")
    )
    per_subscription = (
        months.sort("transaction_date")
        .group_by(*SUBSCRIPTION, "month")
        .agg(pl.col("monthly_amount").last())
    )
    return (
        per_subscription.group_by(*CUSTOMER, "month")
        .agg(pl.col("monthly_amount").sum().cast(TOTAL).alias("mrr"))
        .sort(*CUSTOMER, "month")
    )


def mrr_movements(active: pl.DataFrame, as_of_month: date) -> pl.DataFrame:
    """Each customer's MRR change per month: new, expansion, contraction, churn, reactivation.

    Compares the end of a month with the end of the month before. `new` is a customer's
    first active month ever; `reactivation` a later return after at least one month at 0.
    Unchanged months are kept with movement `flat`. Months after `as_of_month` are dropped.
    """
    previous = active.select(
        *CUSTOMER,
        pl.col("month").dt.offset_by("1mo"),
        pl.col("mrr").alias("previous_mrr"),
    )
    first_month = active.group_by(CUSTOMER).agg(pl.col("month").min().alias("_first_month"))
    both = (
        active.join(previous, on=[*CUSTOMER, "month"], how="full", coalesce=True)
        .filter(pl.col("month") <= as_of_month)
        .join(first_month, on=CUSTOMER)
        .with_columns(pl.col("mrr", "previous_mrr").fill_null(0))
    )
    mrr, before = pl.col("mrr"), pl.col("previous_mrr")
    movement = (
        pl.when((before == 0) & (pl.col("month") == pl.col("_first_month")))
        .then(pl.lit("new"))
        .when(before == 0)
        .then(pl.lit("reactivation"))
        .when(mrr == 0)
        .then(pl.lit("churn"))
        .when(mrr > before)
        .then(pl.lit("expansion"))
        .when(mrr < before)
        .then(pl.lit("contraction"))
        .otherwise(pl.lit("flat"))
    )
    return (
        both.with_columns(movement.alias("movement"), (mrr - before).alias("movement_amount"))
        .drop("_first_month")
        .sort("month", *CUSTOMER)
    )


def mrr_by_month(movements: pl.DataFrame, first_month: date, as_of_month: date) -> pl.DataFrame:
    """Per month and currency: MRR, its movements (signed), customer counts and churn rates.

    customer_churn_rate = churned customers ÷ customers at the start of the month;
    gross_mrr_churn_rate = (churned + contraction MRR) ÷ MRR at the start;
    net_mrr_churn_rate = (churned + contraction − expansion − reactivation) ÷ MRR at the start
    (negative when existing customers grew). ARPA = MRR ÷ customers at the end of the month.
    """
    amount, kind = pl.col("movement_amount"), pl.col("movement")
    summary = movements.group_by("month", "currency").agg(
        pl.col("mrr").sum().alias("mrr"),
        pl.col("previous_mrr").sum().alias("starting_mrr"),
        *(
            amount.filter(kind == name).sum().alias(f"{'churned' if name == 'churn' else name}_mrr")
            for name in MOVEMENTS
        ),
        (pl.col("mrr") > 0).sum().alias("customers"),
        (pl.col("previous_mrr") > 0).sum().alias("starting_customers"),
        (kind == "new").sum().alias("new_customers"),
        (kind == "churn").sum().alias("churned_customers"),
        (kind == "reactivation").sum().alias("reactivated_customers"),
    )
    grid = pl.DataFrame({"month": pl.date_range(first_month, as_of_month, "1mo", eager=True)})
    currencies = movements.select("currency").unique()
    money = ["mrr", "starting_mrr", *(f"{'churned' if m == 'churn' else m}_mrr" for m in MOVEMENTS)]
    counts = [
        "customers",
        "starting_customers",
        "new_customers",
        "churned_customers",
        "reactivated_customers",
    ]
    full = (
        grid.join(currencies, how="cross")
        .join(summary, on=["month", "currency"], how="left")
        .with_columns(
            pl.col(money).cast(TOTAL).fill_null(0), pl.col(counts).cast(pl.Int64).fill_null(0)
        )
    )
    lost = -(pl.col("churned_mrr") + pl.col("contraction_mrr"))
    regained = pl.col("expansion_mrr") + pl.col("reactivation_mrr")
    return full.with_columns(
        rate(pl.col("churned_customers"), pl.col("starting_customers")).alias(
            "customer_churn_rate"
        ),
        rate(lost, pl.col("starting_mrr")).alias("gross_mrr_churn_rate"),
        rate(lost - regained, pl.col("starting_mrr")).alias("net_mrr_churn_rate"),
        divide_money(pl.col("mrr"), pl.col("customers")).alias("arpa"),
    ).sort("currency", "month")


def with_lifetime_value(summary: pl.DataFrame, window_months: int) -> pl.DataFrame:
    """LTV = ARPA ÷ customer churn rate, the churn rate taken over the trailing window.

    Over the window: churned customers ÷ customer-months at risk (the sum of each month's
    starting customers), so LTV = ARPA × customer-months ÷ churned, exact to the cent.
    Null while nobody has churned in the window (the lifetime is not yet measurable).
    """
    rolling = {"window_size": window_months, "min_samples": 1}
    churned = pl.col("churned_customers").rolling_sum(**rolling).over("currency", order_by="month")
    at_risk = pl.col("starting_customers").rolling_sum(**rolling).over("currency", order_by="month")
    return summary.with_columns(
        divide_money(pl.col("arpa") * at_risk, churned).alias("ltv"),
        rate(churned, at_risk).alias("trailing_customer_churn_rate"),
    )


def as_of_month(transactions: pl.DataFrame, timezone: str) -> date | None:
    """The month of the latest transaction: metrics run up to and including it."""
    if transactions.is_empty():
        return None
    return transactions.select(month_of("transaction_date", timezone).max()).item()


def known_intervals(subscriptions: pl.DataFrame) -> pl.DataFrame:
    """Each product's billing interval as the Subscriptions export states it (the most
    common one when its subscriptions disagree)."""
    return (
        subscriptions.filter(pl.col("product_id").is_not_null())
        .group_by("product_id")
        .agg(pl.col("interval_months").mode().min())
        .cast(INTERVALS_SCHEMA)
    )


def movements_add_up(summary: pl.DataFrame) -> pl.DataFrame:
    """Months where starting MRR plus the movements does not give the month's MRR."""
    explained = pl.sum_horizontal(
        "starting_mrr", *(f"{'churned' if m == 'churn' else m}_mrr" for m in MOVEMENTS)
    )
    return summary.filter(explained != pl.col("mrr")).select("month", "currency", "mrr")


def reconcile_with_export(
    timeline: pl.DataFrame, export: pl.DataFrame, month: date
) -> pl.DataFrame:
    """Customers whose MRR at `month` differs between the charge timeline and the
    Subscriptions export, with the likely cause. Export rows without a contact are one row.

    `timeline`: contact_id, currency, month, mrr. `export`: contact_id, currency, export_mrr.
    """
    now = timeline.filter(pl.col("month") == month).select(
        *CUSTOMER, pl.col("mrr").alias("timeline_mrr")
    )
    linked = export.filter(pl.col("contact_id").is_not_null())
    unlinked = export.filter(pl.col("contact_id").is_null())
    both = now.join(linked, on=CUSTOMER, how="full", coalesce=True).with_columns(
        pl.col("timeline_mrr", "export_mrr").cast(TOTAL).fill_null(0)
    )
    orphans = unlinked.group_by("currency").agg(
        pl.lit(None, CRM_KEY).alias("contact_id"),
        pl.lit(0).cast(TOTAL).alias("timeline_mrr"),
        pl.col("export_mrr").sum().cast(TOTAL),
    )
    timeline_mrr, export_mrr = pl.col("timeline_mrr"), pl.col("export_mrr")
    cause = (
        pl.when(pl.col("contact_id").is_null())
        .then(pl.lit("export subscription not linked to a contact"))
        .when(export_mrr == 0)
        .then(pl.lit("charged in the timeline, not paying in the export (canceled/paused/trial)"))
        .when(timeline_mrr == 0)
        .then(pl.lit("paying in the export, no subscription charge covers the month"))
        .otherwise(pl.lit("amounts differ (coupon, price change, or interval)"))
    )
    return (
        pl.concat([both.select(orphans.columns), orphans])
        .filter(timeline_mrr != export_mrr)
        .with_columns(
            pl.lit(month).alias("month"),
            (timeline_mrr - export_mrr).alias("difference"),
            cause.alias("cause"),
        )
        .sort("cause", "contact_id", nulls_last=True)
    )


def subscription_timeline(
    transactions: pl.DataFrame, subscriptions: pl.DataFrame, options: MetricOptions
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(subscription charges, MRR per customer and month) as every MRR-based metric sees it:
    charges fully refunded are taken back, and the Subscriptions export's intervals (where
    one was imported) say how many months a charge pays for."""
    links = refund_metrics.link_refunds(transactions, options.reporting_timezone)
    charges = subscription_charges(
        transactions,
        options,
        refund_metrics.fully_refunded_charges(links),
        known_intervals(subscriptions),
    )
    return charges, customer_mrr(charges, options)
