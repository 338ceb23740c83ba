"""Revenue analytics as assets: each reads the warehouse, computes with the pure functions in
`domain.analytics`, replaces its metric table, and shows its latest values and a chart.

They depend on `loaded_transactions` by key only (`deps`), so they can be materialized after
any import, or on their own against whatever the warehouse holds. Metadata holds counts,
amounts, product names and ids only: never a customer's name, email, phone or address.
Amounts in numeric metadata are floats so Dagster can plot them over materializations; the
exact Decimal values are in the tables and in the text metadata.
"""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.assets import WAREHOUSE_POOL
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.analytics import products as product_metrics
from starhouse_pipeline.domain.analytics import revenue as revenue_metrics
from starhouse_pipeline.domain.analytics.charts import bar_chart_markdown
from starhouse_pipeline.domain.analytics.frames import MetricOptions
from starhouse_pipeline.domain.report import markdown_table
from starhouse_pipeline.warehouse import analytics as warehouse_analytics
from starhouse_pipeline.warehouse import analytics_tables

ANALYTICS_GROUP = "analytics"
_AFTER_IMPORT = ["loaded_transactions"]
_CHART_MONTHS = 24


class AnalyticsOptions(dg.ConfigurableResource):
    """The operator's metric choices; defaults and reasons are in docs/metrics.md."""

    reporting_timezone: str = MetricOptions.reporting_timezone
    recovery_window_days: int = MetricOptions.recovery_window_days
    past_due_grace_days: int = MetricOptions.past_due_grace_days
    refunded_charges_count_in_mrr: bool = MetricOptions.refunded_charges_count_in_mrr
    ltv_churn_window_months: int = MetricOptions.ltv_churn_window_months
    min_pair_customers: int = MetricOptions.min_pair_customers

    def metric_options(self) -> MetricOptions:
        return MetricOptions(
            reporting_timezone=self.reporting_timezone,
            recovery_window_days=self.recovery_window_days,
            past_due_grace_days=self.past_due_grace_days,
            refunded_charges_count_in_mrr=self.refunded_charges_count_in_mrr,
            ltv_churn_window_months=self.ltv_churn_window_months,
            min_pair_customers=self.min_pair_customers,
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


def _month_labels(frame: pl.DataFrame) -> list[str]:
    return [month.strftime("%Y-%m") for month in frame.get_column("month")]


def _series(frame: pl.DataFrame, columns: dict[str, str]) -> dict[str, list[float]]:
    return {
        label: [as_plot_number(v) for v in frame.get_column(column)]
        for label, column in columns.items()
    }


def _latest_values(frame: pl.DataFrame, columns: tuple[str, ...]) -> dict:
    """The last row's values, as plot numbers plus exact text."""
    if frame.is_empty():
        return {}
    last = frame.row(-1, named=True)
    metadata: dict = {"latest_month": str(last["month"])}
    for column in columns:
        value = last[column]
        if isinstance(value, Decimal):
            metadata[f"latest_{column}"] = dg.MetadataValue.float(as_plot_number(value))
            metadata[f"latest_{column}_exact"] = str(value)
        elif value is not None:
            metadata[f"latest_{column}"] = value
    return metadata


def _main_currency(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of the currency with the most rows; charts never mix currencies."""
    if frame.is_empty():
        return frame
    top = frame.get_column("currency").value_counts(sort=True).row(0)[0]
    return frame.filter(pl.col("currency") == top)


@dg.asset(
    group_name=ANALYTICS_GROUP,
    deps=_AFTER_IMPORT,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
)
def revenue_by_month(
    warehouse: WarehouseResource, analytics_options: AnalyticsOptions
) -> dg.MaterializeResult:
    """Money received per month: gross sales, refunds and net, by product and source system.

    Completed rows only; refunds count negative in the month they were paid out; months are
    calendar months in the reporting time zone. Table `analytics_revenue_monthly`, one row
    per (month, currency, source system, product).
    """
    options = analytics_options.metric_options()
    revenue = revenue_metrics.revenue_by_month(
        _read_transactions(warehouse), options.reporting_timezone
    )
    _replace(warehouse, {analytics_tables.revenue_monthly: revenue})
    monthly = revenue_metrics.revenue_totals(revenue)
    shown = _main_currency(monthly).tail(_CHART_MONTHS)
    by_source = revenue_metrics.revenue_totals(revenue, by=("source_system", "currency"))
    return dg.MaterializeResult(
        metadata={
            "rows": revenue.height,
            **_latest_values(_main_currency(monthly), ("gross", "refunds", "net")),
            "chart": dg.MetadataValue.md(
                bar_chart_markdown(
                    "Revenue by month",
                    _month_labels(shown),
                    _series(shown, {"gross": "gross", "refunds": "refunds"}),
                )
            ),
            "by_month": dg.MetadataValue.md(markdown_table(shown.reverse())),
            "by_source_system": dg.MetadataValue.md(markdown_table(by_source)),
        }
    )


@dg.asset(
    group_name=ANALYTICS_GROUP,
    deps=_AFTER_IMPORT,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
)
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
    return dg.MaterializeResult(
        metadata={
            "products": performance.height,
            "pairs": pairs.height,
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


analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(ANALYTICS_GROUP),
    description="Recompute every revenue metric from what the warehouse holds now.",
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
            "completed_revenue": ", ".join(f"{c} {v}" for c, v in sorted(expected.items()))
            or "none",
            "sum_of_months": ", ".join(f"{c} {v}" for c, v in sorted(found.items())) or "none",
        },
    )
