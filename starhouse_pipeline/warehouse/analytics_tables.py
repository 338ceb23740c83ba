"""The analytics metric tables (SQLAlchemy Core).

They share `metadata` with the CRM tables so foreign keys resolve. Metric tables are derived
data: each materialization replaces a table's rows whole, in one transaction, so a BI tool
never sees a half-written month. Money columns are `Money` (NUMERIC(12,2) dollars);
ratios are floats rounded to four places.
"""

from __future__ import annotations

import sqlalchemy as sa

from starhouse_pipeline.settings import PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.tables import metadata
from starhouse_pipeline.warehouse.types import CrmKey, Money, UtcDateTime

# Every table here is the pipeline's own; references to CRM rows have the CRM's key type.
IdType = CrmKey
_OWN = {"schema": PIPELINE_SCHEMA}


def _money(name: str) -> sa.Column:
    return sa.Column(name, Money, nullable=False, server_default="0")


def _rate(name: str) -> sa.Column:
    return sa.Column(name, sa.Float)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def _computed_at() -> sa.Column:
    return sa.Column("computed_at", UtcDateTime, nullable=False, server_default=sa.func.now())


revenue_monthly = sa.Table(
    "analytics_revenue_monthly",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("source_system", sa.Text, nullable=False),
    sa.Column("product_id", IdType),
    sa.Column("product_name", sa.Text),
    _money("gross"),
    _money("refunds"),
    _money("adjustments"),
    _money("net"),
    _count("sales"),
    _count("refund_count"),
    _count("customers"),
    _computed_at(),
    **_OWN,
)

product_performance = sa.Table(
    "analytics_product_performance",
    metadata,
    sa.Column("product_id", IdType, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("product_name", sa.Text),
    _money("gross"),
    _money("refunded"),
    _money("net"),
    _count("sales"),
    _count("refund_count"),
    _count("customers"),
    sa.Column("average_price", Money),
    _rate("refund_rate"),
    _computed_at(),
    **_OWN,
)

product_pairs = sa.Table(
    "analytics_product_pairs",
    metadata,
    sa.Column("product_id_a", IdType, nullable=False),
    sa.Column("product_name_a", sa.Text),
    sa.Column("product_id_b", IdType, nullable=False),
    sa.Column("product_name_b", sa.Text),
    _count("customers_with_both"),
    _rate("support"),
    _rate("confidence_a_to_b"),
    _rate("confidence_b_to_a"),
    _rate("lift"),
    _computed_at(),
    **_OWN,
)

customer_mrr = sa.Table(
    "analytics_customer_mrr",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("contact_id", IdType, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    _money("mrr"),
    _money("previous_mrr"),
    sa.Column("movement", sa.Text, nullable=False),
    _money("movement_amount"),
    _computed_at(),
    **_OWN,
)
sa.Index("ix_analytics_customer_mrr_month", customer_mrr.c.month)

mrr_monthly = sa.Table(
    "analytics_mrr_monthly",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    _money("mrr"),
    _money("starting_mrr"),
    _money("new_mrr"),
    _money("expansion_mrr"),
    _money("contraction_mrr"),
    _money("churned_mrr"),
    _money("reactivation_mrr"),
    _count("customers"),
    _count("starting_customers"),
    _count("new_customers"),
    _count("churned_customers"),
    _count("reactivated_customers"),
    _rate("customer_churn_rate"),
    _rate("gross_mrr_churn_rate"),
    _rate("net_mrr_churn_rate"),
    sa.Column("arpa", Money),
    sa.Column("ltv", Money),
    _computed_at(),
    **_OWN,
)

customer_value = sa.Table(
    "analytics_customer_value",
    metadata,
    sa.Column("contact_id", IdType, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("first_month", sa.Date, nullable=False),
    sa.Column("last_month", sa.Date, nullable=False),
    _money("gross"),
    _money("refunds"),
    _money("net_revenue"),
    _count("sales"),
    _computed_at(),
    **_OWN,
)

failed_payments = sa.Table(
    "analytics_failed_payments",
    metadata,
    sa.Column("first_failed_transaction_id", IdType, nullable=False),
    sa.Column("contact_id", IdType),
    sa.Column("product_id", IdType),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("first_failed_at", UtcDateTime, nullable=False),
    _count("failed_attempts"),
    _money("amount"),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("recovered_transaction_id", IdType),
    sa.Column("recovered_at", UtcDateTime),
    _rate("days_to_recovery"),
    _computed_at(),
    **_OWN,
)

failed_payments_monthly = sa.Table(
    "analytics_failed_payments_monthly",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    _count("failed_payments"),
    _count("failed_attempts"),
    _count("recovered"),
    _count("lost"),
    _count("open"),
    _rate("recovery_rate"),
    _money("recovered_amount"),
    _money("lost_amount"),
    _rate("median_days_to_recovery"),
    _computed_at(),
    **_OWN,
)

refund_links = sa.Table(
    "analytics_refund_links",
    metadata,
    sa.Column("refund_transaction_id", IdType, nullable=False),
    sa.Column("charge_transaction_id", IdType),
    sa.Column("contact_id", IdType),
    sa.Column("product_id", IdType),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    _money("refund_amount"),
    sa.Column("charge_amount", Money),
    sa.Column("link", sa.Text, nullable=False),
    _rate("days_after_charge"),
    _computed_at(),
    **_OWN,
)

refunds_monthly = sa.Table(
    "analytics_refunds_monthly",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("product_id", IdType),
    sa.Column("product_name", sa.Text),
    _count("sales"),
    _money("gross"),
    _count("refund_count"),
    _money("refunded"),
    _count("full_refunds"),
    _count("partial_refunds"),
    _rate("refund_rate"),
    _rate("refund_count_rate"),
    _computed_at(),
    **_OWN,
)

cohorts = sa.Table(
    "analytics_cohorts",
    metadata,
    sa.Column("cohort_month", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("months_since_signup", sa.Integer, nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    _count("cohort_customers"),
    _count("active_customers"),
    _rate("customer_retention"),
    _money("net_revenue"),
    _rate("revenue_retention"),
    _money("mrr"),
    _rate("mrr_retention"),
    _computed_at(),
    **_OWN,
)

mrr_reconciliation = sa.Table(
    "analytics_mrr_reconciliation",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("contact_id", IdType),
    sa.Column("currency", sa.Text, nullable=False),
    _money("timeline_mrr"),
    _money("export_mrr"),
    _money("difference"),
    sa.Column("cause", sa.Text, nullable=False),
    _computed_at(),
    **_OWN,
)

METRIC_TABLES = (
    revenue_monthly,
    product_performance,
    product_pairs,
    customer_mrr,
    mrr_monthly,
    customer_value,
    failed_payments,
    failed_payments_monthly,
    refund_links,
    refunds_monthly,
    cohorts,
    mrr_reconciliation,
)
