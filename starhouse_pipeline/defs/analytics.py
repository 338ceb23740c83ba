"""Revenue analytics as assets: each reads the warehouse, computes with the pure functions in
`domain.analytics`, replaces its metric table, and shows its latest values and its charts
(one per currency, over business months; `domain.analytics.charts`).

They depend on `loaded_transactions` by key only (`deps`), so they can be materialized after
any import, or on their own against whatever the warehouse holds; none depends on the
Subscriptions import: the `subscriptions` table is read as it is (empty until a
Subscriptions export is imported). Metadata holds counts, amounts, product names and ids
only: never a customer's name, email, phone or address. Amounts in numeric metadata are
floats so Dagster can plot them over materializations; the exact values, formatted for
people by `domain.formatting`, are in the tables, the `summary` and the `_exact` text.
"""

from decimal import Decimal

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.assets import WAREHOUSE_POOL
from starhouse_pipeline.defs.exports import summary_line
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain import formatting
from starhouse_pipeline.domain import subscriptions as subscription_rules
from starhouse_pipeline.domain.analytics import charts
from starhouse_pipeline.domain.analytics import mrr as mrr_metrics
from starhouse_pipeline.domain.analytics import payments as payment_metrics
from starhouse_pipeline.domain.analytics import products as product_metrics
from starhouse_pipeline.domain.analytics import refunds as refund_metrics
from starhouse_pipeline.domain.analytics import retention as retention_metrics
from starhouse_pipeline.domain.analytics import revenue as revenue_metrics
from starhouse_pipeline.domain.analytics.frames import (
    MetricOptions,
    transaction_months,
)
from starhouse_pipeline.domain.formatting import markdown_table, money, money_by_currency, percent
from starhouse_pipeline.warehouse import analytics as warehouse_analytics
from starhouse_pipeline.warehouse import analytics_tables
from starhouse_pipeline.warehouse import subscriptions as warehouse_subscriptions

ANALYTICS_GROUP = "analytics"
_AFTER_IMPORT = ["loaded_transactions"]
# The `by_month` tables in metadata show the latest months and say so; the charts and the
# `analytics_*` tables hold every month.
_TABLE_MONTHS = 24


class AnalyticsOptions(dg.ConfigurableResource):
    """The operator's metric choices; defaults and reasons are in docs/metrics.md."""

    reporting_timezone: str = MetricOptions.reporting_timezone
    recovery_window_days: int = MetricOptions.recovery_window_days
    past_due_grace_days: int = MetricOptions.past_due_grace_days
    refunded_signups_count_in_mrr: bool = MetricOptions.refunded_signups_count_in_mrr
    ltv_churn_window_months: int = MetricOptions.ltv_churn_window_months
    min_pair_customers: int = MetricOptions.min_pair_customers

    def metric_options(self) -> MetricOptions:
        return MetricOptions(
            reporting_timezone=self.reporting_timezone,
            recovery_window_days=self.recovery_window_days,
            past_due_grace_days=self.past_due_grace_days,
            refunded_signups_count_in_mrr=self.refunded_signups_count_in_mrr,
            ltv_churn_window_months=self.ltv_churn_window_months,
            min_pair_customers=self.min_pair_customers,
        )


_ANALYTICS_ASSET = {
    "group_name": ANALYTICS_GROUP,
    "deps": _AFTER_IMPORT,
    "kinds": {"polars", "sql"},
    "pool": WAREHOUSE_POOL,
}


def _read_inputs(warehouse: WarehouseResource) -> tuple[pl.DataFrame, pl.DataFrame]:
    with warehouse.transaction(dry_run=True) as connection:
        return (
            warehouse_analytics.read_transactions(connection),
            warehouse_subscriptions.read_subscriptions(connection),
        )


def _read_transactions(warehouse: WarehouseResource) -> pl.DataFrame:
    with warehouse.transaction(dry_run=True) as connection:
        return warehouse_analytics.read_transactions(connection)


def _replace(warehouse: WarehouseResource, tables: dict) -> None:
    """Replace several metric tables in one database transaction."""
    with warehouse.transaction() as connection:
        for table, frame in tables.items():
            warehouse_analytics.replace_metric_table(connection, table, frame)


def as_plot_number(amount: Decimal | None) -> float:
    """An amount for Dagster's metadata plots only (display, never arithmetic)."""
    return float(amount) if amount is not None else 0.0


def _charts(built: list[charts.Chart]) -> dg.MetadataValue:
    """The charts as images in one Markdown value (shown by *Show Markdown* in the UI)."""
    return dg.MetadataValue.md(charts.charts_markdown(built))


def _by_month(frame: pl.DataFrame, columns: tuple[str, ...] = ()) -> dg.MetadataValue:
    """The latest months of a monthly frame, every currency, newest first, saying how many
    of all the months it shows."""
    if frame.is_empty():
        return dg.MetadataValue.md("_none_")
    months = frame.get_column("month").unique().sort()
    kept = months.tail(_TABLE_MONTHS)
    shown = frame.filter(pl.col("month").is_in(kept.implode())).sort(
        ["month", "currency"], descending=[True, False]
    )
    if columns:
        shown = shown.select(columns)
    scope = (
        f"last {kept.len()} of {months.len()} months"
        if months.len() > kept.len()
        else f"all {months.len()} months"
    )
    table = markdown_table(shown, max_rows=shown.height)
    return dg.MetadataValue.md(f"_{scope}, every currency, newest first_\n\n{table}")


def _latest_values(frame: pl.DataFrame, columns: tuple[str, ...]) -> dict:
    """The last row's values, as plot numbers plus exact text (money with its currency)."""
    if frame.is_empty():
        return {}
    last = frame.row(-1, named=True)
    metadata: dict = {"latest_month": str(last["month"]), "latest_currency": last["currency"]}
    for column in columns:
        value = last[column]
        if isinstance(value, Decimal):
            metadata[f"latest_{column}"] = dg.MetadataValue.float(as_plot_number(value))
            metadata[f"latest_{column}_exact"] = money(value, last.get("currency"))
        elif value is not None:
            metadata[f"latest_{column}"] = value
    return metadata


def _last_row(frame: pl.DataFrame) -> dict:
    return frame.row(-1, named=True) if frame.height else {}


def _main_currency(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of the currency with the most rows, for the `latest_*` numbers Dagster plots
    (they are named with `latest_currency`; the charts and tables show every currency)."""
    if frame.is_empty():
        return frame
    top = frame.get_column("currency").value_counts(sort=True).row(0)[0]
    return frame.filter(pl.col("currency") == top)


@dg.asset(**_ANALYTICS_ASSET)
def revenue_by_month(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Money received per month: gross sales, refunds and net, by product and source system.

    Completed rows only; refunds count negative in the month they were paid out; months are
    calendar months in the reporting time zone. Table `analytics_revenue_monthly`, one row
    per (month, currency, source system, product). Charts per currency: gross, refunds and
    net by month (`chart`), and net by month stacked by source system (`chart_by_source`).
    """
    options = analytics_options.metric_options()
    revenue = revenue_metrics.revenue_by_month(
        _read_transactions(warehouse), options.reporting_timezone
    )
    _replace(warehouse, {analytics_tables.revenue_monthly: revenue})
    monthly = revenue_metrics.revenue_totals(revenue)
    by_source = revenue_metrics.revenue_totals(revenue, by=("source_system", "currency"))
    last = _last_row(_main_currency(monthly))
    summary = (
        f"{last['month']:%Y-%m}: gross {money(last['gross'], last['currency'])}, refunds "
        f"{money(last['refunds'], last['currency'])}, net {money(last['net'], last['currency'])}"
        if last
        else "No completed revenue in the warehouse yet."
    )
    return dg.MaterializeResult(
        metadata={
            **summary_line(summary),
            "rows": revenue.height,
            **_latest_values(_main_currency(monthly), ("gross", "refunds", "net")),
            "chart": _charts(charts.revenue_charts(monthly)),
            "chart_by_source": _charts(charts.revenue_by_source_charts(revenue)),
            "by_month": _by_month(monthly),
            "by_source_system": dg.MetadataValue.md(markdown_table(by_source)),
        }
    )


@dg.asset(**_ANALYTICS_ASSET)
def product_performance(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Which products carry the business: revenue, sales, customers, average price, refunds.

    Also the products bought by the same customers (pairs with support, confidence and
    lift). Tables `analytics_product_performance` and `analytics_product_pairs`.
    """
    options = analytics_options.metric_options()
    transactions = _read_transactions(warehouse)
    performance = product_metrics.product_performance(transactions)
    pairs = product_metrics.product_pairs(transactions, options.min_pair_customers)
    _replace(
        warehouse,
        {
            analytics_tables.product_performance: performance,
            analytics_tables.product_pairs: pairs,
        },
    )
    top = performance.row(0, named=True) if performance.height else {}
    summary = (
        f"{formatting.count(performance.height)} products; the top one by net revenue: "
        f"{top['product_name']}, {money(top['net'], top['currency'])}"
        if top
        else "No product sales in the warehouse yet."
    )
    months = charts.period(transaction_months(transactions, options.reporting_timezone))
    return dg.MaterializeResult(
        metadata={
            **summary_line(summary),
            "products": performance.height,
            "pairs": pairs.height,
            "chart": _charts(charts.product_charts(performance, months)),
            "pairs_chart": _charts(charts.product_pair_chart(pairs, months)),
            "top_products": dg.MetadataValue.md(
                markdown_table(
                    performance.select(
                        "product_name",
                        "currency",
                        "net",
                        "sales",
                        "customers",
                        "average_price",
                        "refund_rate",
                    ),
                    max_rows=15,
                )
            ),
            "top_pairs": dg.MetadataValue.md(
                markdown_table(
                    pairs.select(
                        "product_name_a", "product_name_b", "customers_with_both", "support", "lift"
                    ),
                    max_rows=15,
                )
            ),
        }
    )


@dg.asset_check(asset=revenue_by_month, blocking=True)
def revenue_months_add_up_to_warehouse_revenue(
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """The months' net, summed by the database, equals its completed revenue per currency."""
    with warehouse.transaction(dry_run=True) as connection:
        expected = warehouse_analytics.completed_revenue_by_currency(connection)
        found = warehouse_analytics.metric_net_by_currency(
            connection, analytics_tables.revenue_monthly
        )
    return dg.AssetCheckResult(
        passed=expected == found,
        metadata={
            "completed_revenue": money_by_currency(expected),
            "sum_of_months": money_by_currency(found),
        },
    )


@dg.asset(**_ANALYTICS_ASSET)
def mrr_movements(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Recurring revenue at each month's end and why it moved: new, expansion, contraction,
    churn, reactivation; with customer and MRR churn rates, ARPA and lifetime value.

    Rebuilt from completed subscription charges, annual plans spread over their 12 months.
    Tables `analytics_customer_mrr` (per customer and month) and `analytics_mrr_monthly`.
    """
    options = analytics_options.metric_options()
    transactions, subscriptions = _read_inputs(warehouse)
    as_of = mrr_metrics.as_of_month(transactions, options.reporting_timezone)
    charges, active = mrr_metrics.subscription_timeline(transactions, subscriptions, options)
    if as_of is None or active.is_empty():
        _replace(
            warehouse, {analytics_tables.customer_mrr: active, analytics_tables.mrr_monthly: active}
        )
        return dg.MaterializeResult(
            metadata={
                **summary_line("No subscription charges in the warehouse yet."),
                "customers": 0,
                "subscription_charges": 0,
            }
        )
    movements = mrr_metrics.mrr_movements(active, as_of)
    summary = mrr_metrics.with_lifetime_value(
        mrr_metrics.mrr_by_month(movements, active.get_column("month").min(), as_of),
        options.ltv_churn_window_months,
    )
    _replace(
        warehouse,
        {analytics_tables.customer_mrr: movements, analytics_tables.mrr_monthly: summary},
    )
    interval_sources = charges.group_by("interval_source").len().sort("interval_source")
    last = _last_row(_main_currency(summary))
    return dg.MaterializeResult(
        metadata={
            **summary_line(
                f"MRR at the end of {last['month']:%Y-%m}: {money(last['mrr'], last['currency'])} "
                f"from {formatting.count(last['customers'])} customers; customer churn "
                f"{percent(last['customer_churn_rate']) or 'n/a'}, net MRR churn "
                f"{percent(last['net_mrr_churn_rate']) or 'n/a'}; ARPA "
                f"{money(last['arpa'], last['currency']) or 'n/a'}"
            ),
            "subscription_charges": charges.height,
            "charges_by_interval_source": dg.MetadataValue.md(markdown_table(interval_sources)),
            **_latest_values(
                _main_currency(summary),
                (
                    "mrr",
                    "customers",
                    "arpa",
                    "ltv",
                    "customer_churn_rate",
                    "gross_mrr_churn_rate",
                    "net_mrr_churn_rate",
                ),
            ),
            "chart": _charts(charts.mrr_charts(summary)),
            "by_month": _by_month(
                summary,
                (
                    "month",
                    "currency",
                    "mrr",
                    "new_mrr",
                    "expansion_mrr",
                    "contraction_mrr",
                    "churned_mrr",
                    "reactivation_mrr",
                    "customers",
                    "customer_churn_rate",
                    "net_mrr_churn_rate",
                    "arpa",
                    "ltv",
                ),
            ),
        }
    )


@dg.asset_check(asset=mrr_movements, blocking=True)
def mrr_movements_explain_every_change(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Each month: starting MRR + new + expansion + contraction + churn + reactivation = MRR."""
    with warehouse.transaction(dry_run=True) as connection:
        summary = warehouse_analytics.read_metric_table(connection, analytics_tables.mrr_monthly)
    broken = mrr_metrics.movements_add_up(summary) if summary.height else summary
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        metadata={"months": summary.height, "months_not_adding_up": broken.height},
    )


@dg.asset(**_ANALYTICS_ASSET)
def customer_value(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """What customers have actually been worth: realized net revenue per customer so far.

    Table `analytics_customer_value` (one row per customer and currency, by contact id).
    The forward-looking LTV (ARPA ÷ churn) is in `analytics_mrr_monthly`.
    """
    options = analytics_options.metric_options()
    values = retention_metrics.customer_value(
        _read_transactions(warehouse), options.reporting_timezone
    )
    _replace(warehouse, {analytics_tables.customer_value: values})
    per_currency = retention_metrics.value_per_currency(values)
    latest = per_currency.row(0, named=True) if per_currency.height else {}
    summary = (
        f"{formatting.count(values.height)} paying customers; realized value per customer: "
        f"average {money(latest['average_per_customer'], latest['currency'])}, median "
        f"{money(latest['median_per_customer'], latest['currency'])}"
        if latest
        else "No paying customers in the warehouse yet."
    )
    return dg.MaterializeResult(
        metadata={
            **summary_line(summary),
            "customers": values.height,
            "average_realized_value": dg.MetadataValue.float(
                as_plot_number(latest.get("average_per_customer"))
            ),
            "by_currency": dg.MetadataValue.md(markdown_table(per_currency)),
            "chart": _charts(charts.customer_value_charts(values)),
        }
    )


@dg.asset(**_ANALYTICS_ASSET)
def failed_payment_recovery(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """How many failed payments are recovered, how fast, and how much revenue is lost.

    A failed payment (first failed attempt plus its retries) is recovered by a later
    successful charge of the same customer and offer within the recovery window. Tables
    `analytics_failed_payments` and `analytics_failed_payments_monthly`.
    """
    options = analytics_options.metric_options()
    transactions = _read_transactions(warehouse)
    if transactions.is_empty():
        payments = transactions.clear()
    else:
        payments = payment_metrics.failed_payments(
            transactions,
            options.recovery_window_days,
            transactions.get_column("transaction_date").max(),
            options.reporting_timezone,
        )
    monthly = payment_metrics.failed_payments_by_month(payments) if payments.height else payments
    _replace(
        warehouse,
        {
            analytics_tables.failed_payments: payments,
            analytics_tables.failed_payments_monthly: monthly,
        },
    )
    outcomes = payment_metrics.outcome_counts(payments)
    recovery_rate = payment_metrics.recovery_rate(outcomes)
    return dg.MaterializeResult(
        metadata={
            **summary_line(
                f"{formatting.count(payments.height)} failed payments: "
                f"{formatting.count(outcomes['recovered'])} recovered, "
                f"{formatting.count(outcomes['lost'])} lost, "
                f"{formatting.count(outcomes['open'])} still open; recovery rate "
                f"{percent(recovery_rate) or 'n/a'} within {options.recovery_window_days} days"
            ),
            "failed_payments": payments.height,
            **outcomes,
            "recovery_rate": dg.MetadataValue.float(recovery_rate or 0.0),
            "recovery_window_days": options.recovery_window_days,
            "chart": _charts(charts.failed_payment_charts(monthly)),
            "by_month": _by_month(monthly),
        }
    )


@dg.asset(**_ANALYTICS_ASSET)
def refund_analysis(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Where refunds come from: refund rate and amount per product and month, and each
    refund linked to the charge it reverses (full, partial, or unlinked).

    Tables `analytics_refund_links` and `analytics_refunds_monthly`.
    """
    options = analytics_options.metric_options()
    transactions = _read_transactions(warehouse)
    links = refund_metrics.link_refunds(transactions, options.reporting_timezone)
    monthly = refund_metrics.refunds_by_month(transactions, links, options.reporting_timezone)
    _replace(
        warehouse,
        {analytics_tables.refund_links: links, analytics_tables.refunds_monthly: monthly},
    )
    by_link = links.group_by("link").len().sort("link")
    unlinked = int((links.get_column("link") == "unlinked").sum())
    return dg.MaterializeResult(
        metadata={
            **summary_line(
                f"{formatting.count(links.height)} refunds, {formatting.count(unlinked)} "
                "not linked to an earlier charge"
            ),
            "refunds": links.height,
            "unlinked_refunds": unlinked,
            "links": dg.MetadataValue.md(markdown_table(by_link)),
            "chart": _charts(charts.refund_charts(monthly)),
            "refunds_by_month": dg.MetadataValue.md(
                markdown_table(
                    monthly.filter(pl.col("refund_count") > 0)
                    .reverse()
                    .select(
                        "month",
                        "currency",
                        "product_name",
                        "refund_count",
                        "refunded",
                        "gross",
                        "refund_rate",
                    )
                )
            ),
        }
    )


@dg.asset_check(asset=refund_analysis)
def refunds_link_to_a_charge(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every refund is explained by an earlier sale of the same customer, offer and amount
    (a warning, not a failure: older sales may predate the export)."""
    with warehouse.transaction(dry_run=True) as connection:
        links = warehouse_analytics.read_metric_table(connection, analytics_tables.refund_links)
    unlinked = links.filter(pl.col("link") == "unlinked") if links.height else links
    return dg.AssetCheckResult(
        passed=unlinked.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "refunds": links.height,
            "unlinked": unlinked.height,
            "unlinked_refund_ids": ", ".join(
                str(i) for i in unlinked.get_column("refund_transaction_id").head(20).to_list()
            )
            if unlinked.height
            else "none",
        },
    )


@dg.asset(**_ANALYTICS_ASSET)
def signup_cohorts(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Do customers stay? Monthly signup cohorts with customer and revenue retention.

    A customer's cohort is the month of their first completed sale; they count as active
    in a later month when they buy or hold MRR at its end. Table `analytics_cohorts`.
    """
    options = analytics_options.metric_options()
    transactions, subscriptions = _read_inputs(warehouse)
    as_of = mrr_metrics.as_of_month(transactions, options.reporting_timezone)
    if as_of is None:
        _replace(warehouse, {analytics_tables.cohorts: pl.DataFrame()})
        return dg.MaterializeResult(
            metadata={**summary_line("No customers in the warehouse yet."), "cohorts": 0}
        )
    _, active = mrr_metrics.subscription_timeline(transactions, subscriptions, options)
    cohorts = retention_metrics.signup_cohorts(
        transactions, active, as_of, options.reporting_timezone
    )
    _replace(warehouse, {analytics_tables.cohorts: cohorts})
    grid = retention_metrics.retention_grid(cohorts)
    cohort_count = cohorts.select("cohort_month", "currency").unique().height
    months = [column for column in grid.columns if column.isdigit()]
    return dg.MaterializeResult(
        metadata={
            **summary_line(f"{formatting.count(cohort_count)} monthly signup cohorts"),
            "cohorts": cohort_count,
            "chart": _charts(charts.cohort_charts(cohorts)),
            "customer_retention": dg.MetadataValue.md(
                markdown_table(grid, max_rows=24, rates=months, what="cohorts")
            ),
        }
    )


MRR_EXPORT_CHECK = "mrr_agrees_with_subscriptions_export"
NO_SUBSCRIPTIONS_EXPORT = (
    "Skipped: no Kajabi Subscriptions export has been imported (the subscriptions table is "
    "empty), so there is nothing to compare the MRR with. Import one (starhouse "
    "import-subscriptions PATH, or subscriptions_import_job), then run the analytics again."
)
NO_TRANSACTIONS = "Skipped: no transactions in the warehouse yet, so there is no MRR to compare."


@dg.asset(
    group_name=ANALYTICS_GROUP,
    # Not on `kajabi_subscriptions`: the cross-check reads the `subscriptions` table as it is,
    # so the analytics never need the Subscriptions import to have run.
    deps=["mrr_movements"],
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            MRR_EXPORT_CHECK,
            asset="mrr_export_reconciliation",
            description="The MRR rebuilt from charges agrees, customer by customer, with what "
            "the imported Subscriptions export says they pay (a warning: coupons and price "
            "changes explain some differences). Skipped, and passing, until a Subscriptions "
            "export has been imported.",
        )
    ],
)
def mrr_export_reconciliation(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Does the MRR rebuilt from charges agree with what the Subscriptions export says
    customers pay? The difference per customer, with its likely cause.

    Compares the latest month of the charge timeline with the export's paying subscriptions
    (active, pending cancellation, past due) normalized to monthly. Table
    `analytics_mrr_reconciliation`; only customers that differ are listed. Until a
    Subscriptions export has been imported there is nothing to compare: the table is
    emptied and the check says so.
    """
    options = analytics_options.metric_options()
    transactions, subscriptions = _read_inputs(warehouse)
    as_of = mrr_metrics.as_of_month(transactions, options.reporting_timezone)
    if subscriptions.is_empty() or as_of is None:
        no_export = subscriptions.is_empty()
        reason = NO_SUBSCRIPTIONS_EXPORT if no_export else NO_TRANSACTIONS
        _replace(warehouse, {analytics_tables.mrr_reconciliation: pl.DataFrame()})
        return dg.MaterializeResult(
            metadata={
                **summary_line(reason),
                "subscriptions_export": "none imported" if no_export else "imported",
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=MRR_EXPORT_CHECK,
                    passed=True,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=reason,
                    metadata={"skipped": True, "reason": reason},
                )
            ],
        )
    _, active = mrr_metrics.subscription_timeline(transactions, subscriptions, options)
    export = subscription_rules.export_mrr(subscriptions)
    differences = mrr_metrics.reconcile_with_export(active, export, as_of)
    _replace(warehouse, {analytics_tables.mrr_reconciliation: differences})
    timeline = _by_currency(active.filter(pl.col("month") == as_of), "mrr")
    exported = _by_currency(export, "export_mrr")
    by_cause = (
        differences.group_by("cause")
        .agg(pl.len().alias("customers"), pl.col("difference").sum().alias("difference"))
        .sort("customers", descending=True)
    )
    summary = (
        f"{as_of:%Y-%m}: MRR from charges {money_by_currency(timeline)}, from the "
        f"Subscriptions export {money_by_currency(exported)}; customers differing: "
        f"{formatting.count(differences.height)}"
    )
    return dg.MaterializeResult(
        metadata={
            **summary_line(summary),
            "month": str(as_of),
            "timeline_mrr": money_by_currency(timeline),
            "export_mrr": money_by_currency(exported),
            "customers_differing": differences.height,
            "by_cause": dg.MetadataValue.md(markdown_table(by_cause)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=MRR_EXPORT_CHECK,
                passed=differences.is_empty(),
                severity=dg.AssetCheckSeverity.WARN,
                description=summary,
                metadata={
                    "skipped": False,
                    "customers_differing": differences.height,
                    "by_cause": dg.MetadataValue.md(markdown_table(by_cause)),
                },
            )
        ],
    )


def _by_currency(frame: pl.DataFrame, column: str) -> dict[str, Decimal]:
    """An exact total of `column` per currency."""
    if frame.is_empty():
        return {}
    totals = frame.group_by("currency").agg(pl.col(column).sum())
    return dict(totals.iter_rows())


# Each job runs in one process, like `import_job`: its steps are short (0.2-1 s) and touch one
# database, so a process per step (Dagster's default) cost more than the work: the analytics
# took 39 s for 800 rows that way.
analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(ANALYTICS_GROUP),
    description="Recompute every revenue metric from what the warehouse holds now (needs no "
    "Subscriptions import; the MRR cross-check waits for one).",
    executor_def=dg.in_process_executor,
)
