"""Kajabi's Subscriptions export: its spec (columns, typing, rules) and its planner (products
linked by offer, the import's records, the CRM's own `subscriptions` rows).

It is read and validated like every export (`domain/reading.py`, `domain/validation.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.accounting import RowAccounting
from starhouse_pipeline.domain.analytics.frames import divide_money
from starhouse_pipeline.domain.export_spec import ExportSpec
from starhouse_pipeline.domain.fields import MONEY, Rule, structure_rules, text
from starhouse_pipeline.domain.formatting import count
from starhouse_pipeline.domain.reading import ExportFile
from starhouse_pipeline.domain.validation import RAW_JSON, ROW_HASH

SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "Kajabi Subscription ID",
    "Customer Email",
    "Customer Name",
    "Customer ID",
    "Offer ID",
    "Offer Title",
    "Amount",
    "Currency",
    "Interval",
    "Status",
    "Created At",
    "Next Payment Date",
    "Canceled On",
    "Trial Ends On",
    "Provider",
    "Coupon Used",
)
REQUIRED_SUBSCRIPTION_COLUMNS = (
    "Kajabi Subscription ID",
    "Customer Email",
    "Offer ID",
    "Amount",
    "Currency",
    "Interval",
    "Status",
)

INTERVAL_MONTHS = {
    "month": 1,
    "monthly": 1,
    "1 month": 1,
    "quarter": 3,
    "quarterly": 3,
    "3 months": 3,
    "year": 12,
    "yearly": 12,
    "annual": 12,
    "annually": 12,
    "1 year": 12,
    "12 months": 12,
}
SUBSCRIPTION_STATUSES = {
    "active": "active",
    "canceled": "canceled",
    "cancelled": "canceled",
    "paused": "paused",
    "trial": "trial",
    "trialing": "trial",
    "pending cancellation": "pending_cancellation",
    "past due": "past_due",
    "past_due": "past_due",
}
# Statuses whose subscription still pays at the end of the month (ChartMogul counts a
# subscription until it actually ends, so a pending cancellation is still MRR).
PAYING_STATUSES = ("active", "pending_cancellation", "past_due")
_AMOUNT = r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"
_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%m/%d/%Y")


def parse_date(column: str) -> pl.Expr:
    return pl.coalesce(text(column).str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS)


def typed_columns() -> list[pl.Expr]:
    amount = text("Amount")
    interval = text("Interval").str.to_lowercase()
    status = text("Status").str.to_lowercase().str.replace_all(r"\s+", " ")
    return [
        text("Kajabi Subscription ID").alias("external_subscription_id"),
        text("Customer Email").str.to_lowercase().alias("email"),
        text("Customer ID").alias("kajabi_customer_id"),
        text("Offer ID").alias("kajabi_offer_id"),
        text("Offer Title").alias("offer_title"),
        pl.when(amount.str.contains(_AMOUNT))
        .then(amount.str.replace_all(r"[$,]", "").str.to_decimal(scale=2))
        .cast(MONEY)
        .alias("amount"),
        text("Currency").str.to_uppercase().alias("currency"),
        interval.alias("billing_interval"),
        interval.replace_strict(INTERVAL_MONTHS, default=None, return_dtype=pl.Int64).alias(
            "interval_months"
        ),
        status.alias("kajabi_status"),
        status.replace_strict(SUBSCRIPTION_STATUSES, default=None).alias("status"),
        parse_date("Created At").alias("started_on"),
        parse_date("Next Payment Date").alias("next_payment_on"),
        parse_date("Canceled On").alias("canceled_on"),
        parse_date("Trial Ends On").alias("trial_ends_on"),
        text("Provider").alias("provider"),
        text("Coupon Used").alias("coupon_used"),
    ]


def _bad_date(source: str, parsed: str) -> Rule:
    return Rule(
        f"{parsed}_parses",
        text(source).is_not_null() & pl.col(parsed).is_null(),
        pl.format("{} '{}' is not a date", pl.lit(source), text(source)),
    )


def row_rules() -> list[Rule]:
    """Every row-level rule of a subscription, in the order their reasons are reported."""
    return [
        *structure_rules(),
        Rule("id_present", pl.col("external_subscription_id").is_null(), pl.lit("ID is empty")),
        Rule(
            "email_valid",
            ~pl.col("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit("Customer Email is missing or malformed"),
        ),
        Rule(
            "amount_parses",
            pl.col("amount").is_null(),
            pl.format("Amount '{}' is not a dollar amount", text("Amount")),
        ),
        Rule(
            "currency_code",
            ~pl.col("currency").str.contains(patterns.CURRENCY).fill_null(False),
            pl.format("Currency '{}' is not an ISO code", pl.col("currency")),
        ),
        Rule(
            "known_interval",
            pl.col("interval_months").is_null(),
            pl.format("unknown Interval '{}'", pl.col("billing_interval")),
        ),
        Rule(
            "known_status",
            pl.col("status").is_null(),
            pl.format("unknown Status '{}'", pl.col("kajabi_status")),
        ),
        _bad_date("Created At", "started_on"),
        _bad_date("Next Payment Date", "next_payment_on"),
        _bad_date("Canceled On", "canceled_on"),
        _bad_date("Trial Ends On", "trial_ends_on"),
    ]


SUBSCRIPTIONS = ExportSpec(
    name="Kajabi Subscriptions",
    columns=SUBSCRIPTION_COLUMNS,
    required=REQUIRED_SUBSCRIPTION_COLUMNS,
    id_column="external_subscription_id",
    typed_columns=typed_columns,
    row_rules=row_rules,
    email_column="Customer Email",
    how_to_export="export the subscriptions from Kajabi (Sales, Subscriptions, Export) as CSV",
    signature=frozenset({"Kajabi Subscription ID", "Interval"}),
)


def totals_by_status(frame: pl.DataFrame) -> pl.DataFrame:
    """Row count and exact amount per (status, currency): the reconciliation keys."""
    return (
        frame.group_by("status", "currency")
        .agg(pl.len().cast(pl.Int64).alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort("status", "currency")
    )


def export_mrr(subscriptions: pl.DataFrame) -> pl.DataFrame:
    """What the export says each customer pays per month now: paying subscriptions only,
    amount ÷ interval months to the cent."""
    return (
        subscriptions.filter(pl.col("status").is_in(PAYING_STATUSES))
        .with_columns(divide_money(pl.col("amount"), pl.col("interval_months")).alias("_monthly"))
        .group_by("contact_id", "currency")
        .agg(pl.col("_monthly").sum().alias("export_mrr"))
    )


def link_products(valid: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Each subscription's product: by Offer ID, else by a unique normalized name whose
    product carries no other Offer ID. Never creates products: the rest stay unmapped
    (product_id null) and are reported."""
    by_offer = products.filter(pl.col("kajabi_offer_id").is_not_null()).select(
        pl.col("kajabi_offer_id"), pl.col("id").alias("_by_offer")
    )
    name_key = patterns.normalize_name("name")
    by_name = (
        products.with_columns(name_key.alias("_name"))
        .filter(pl.len().over("_name") == 1)
        .select("_name", pl.col("id").alias("_by_name"), pl.col("kajabi_offer_id").alias("_other"))
    )
    title_key = patterns.normalize_name("offer_title")
    linked = (
        valid.with_columns(title_key.alias("_name"))
        .join(by_offer, on="kajabi_offer_id", how="left")
        .join(by_name, on="_name", how="left")
    )
    name_fits = pl.col("_other").is_null() | (pl.col("_other") == pl.col("kajabi_offer_id"))
    return linked.with_columns(
        pl.coalesce("_by_offer", pl.when(name_fits).then(pl.col("_by_name"))).alias("product_id")
    ).drop("_name", "_by_offer", "_by_name", "_other")


def unmapped_offers(linked: pl.DataFrame) -> pl.DataFrame:
    """Offers of subscriptions that have no product: id, title and how many subscriptions."""
    return (
        linked.filter(pl.col("product_id").is_null())
        .group_by("kajabi_offer_id")
        .agg(pl.col("offer_title").drop_nulls().first(), pl.len().alias("subscriptions"))
        .sort("subscriptions", "kajabi_offer_id", descending=[True, False])
    )


SUBSCRIPTION_RECORD_COLUMNS = (
    "external_subscription_id",
    "contact_id",
    "product_id",
    "kajabi_customer_id",
    "kajabi_offer_id",
    "offer_title",
    "amount",
    "currency",
    "billing_interval",
    "interval_months",
    "status",
    "started_on",
    "next_payment_on",
    "canceled_on",
    "trial_ends_on",
    "provider",
    "coupon_used",
    RAW_JSON,
    ROW_HASH,
)


def subscription_records(
    linked: pl.DataFrame, contact_ids: pl.DataFrame, raw_rows: pl.DataFrame
) -> pl.DataFrame:
    """Rows for the `subscriptions` table: typed values, links, raw row and its hash.

    `raw_rows` is each valid row's original JSON by line (`ValidatedExport.raw_rows`)."""
    return (
        linked.join(contact_ids, on="email", how="left")
        .join(raw_rows, on="_line", how="left")
        .select(SUBSCRIPTION_RECORD_COLUMNS)
    )


@dataclass(frozen=True)
class SubscriptionImport:
    """What importing one Subscriptions export did (counts and ids, no personal data)."""

    file: ExportFile
    dry_run: bool
    rows_read: int
    quarantined: int
    collapsed: int
    valid_ids: list[str]
    expected_totals: pl.DataFrame
    counts: dict[str, int]
    unmapped_offers: pl.DataFrame
    without_contact: int

    @property
    def accounting(self) -> RowAccounting:
        """Rows read = inserted + updated + unchanged + quarantined + collapsed duplicates."""
        places = {
            **{place: self.counts[place] for place in ("inserted", "updated", "unchanged")},
            "quarantined": self.quarantined,
            "duplicates_collapsed": self.collapsed,
        }
        return RowAccounting(self.rows_read, places)


# Kajabi's status (as validated) -> the CRM's `subscription_status`. The CRM has no state for
# a cancellation that takes effect at the end of the paid period, nor for a card being
# retried: both subscriptions are still running, so both are `active` there (the import's
# own table keeps Kajabi's exact status for the MRR definition).
CRM_SUBSCRIPTION_STATUS = {
    "active": "active",
    "trial": "trial",
    "paused": "paused",
    "canceled": "canceled",
    "pending_cancellation": "active",
    "past_due": "active",
}
# CRM `subscriptions` column <- import record column.
CRM_SUBSCRIPTION_COLUMNS = {
    "kajabi_subscription_id": "external_subscription_id",
    "contact_id": "contact_id",
    "product_id": "product_id",
    "status": "status",
    "amount": "amount",
    "currency": "currency",
    "billing_cycle": "billing_interval",
    "start_date": "started_on",
    "trial_end_date": "trial_ends_on",
    "cancellation_date": "canceled_on",
    "next_billing_date": "next_payment_on",
    "payment_processor": "provider",
    "coupon_code": "coupon_used",
}


def crm_subscription_rows(records: pl.DataFrame) -> pl.DataFrame:
    """Import records in the CRM `subscriptions` table's terms (its column names, its status
    values). A record without a contact has no CRM row: the CRM requires one."""
    return in_crm_terms(records.filter(pl.col("contact_id").is_not_null()))


def in_crm_terms(frame: pl.DataFrame | pl.LazyFrame, *keep: str) -> pl.DataFrame | pl.LazyFrame:
    """`frame`'s values under the CRM `subscriptions` columns they fill (those it has), plus
    the `keep` columns as they are."""
    present = frame.collect_schema().names()
    return frame.select(
        *keep,
        *(
            pl.col(source).replace_strict(CRM_SUBSCRIPTION_STATUS, default=None).alias(column)
            if column == "status"
            else pl.col(source).alias(column)
            for column, source in CRM_SUBSCRIPTION_COLUMNS.items()
            if source in present
        ),
    )


SUBSCRIPTION_LABELS = {
    "rows_read": ("rows read", "rows read"),
    "inserted": ("inserted (new)", "would insert (new)"),
    "updated": ("updated (changed in Kajabi)", "would update (changed in Kajabi)"),
    "unchanged": ("unchanged (already imported)", "unchanged (already imported)"),
    "quarantined": ("quarantined", "would quarantine"),
    "duplicates_collapsed": (
        "identical duplicates collapsed",
        "identical duplicates would collapse",
    ),
    "unmapped_subscriptions": ("offer without a product", "offer without a product"),
    "subscriptions_without_contact": ("customer without a contact", "customer without a contact"),
}


def subscriptions_summary(counts: dict[str, int], dry_run: bool) -> str:
    """What a Subscriptions import did, or on a dry run would do, in one sentence."""
    new, updated = count(counts.get("inserted", 0)), count(counts.get("updated", 0))
    unchanged, quarantined = count(counts.get("unchanged", 0)), count(counts.get("quarantined", 0))
    if dry_run:
        return (
            f"Would insert {new} new subscriptions and update {updated} ({unchanged} "
            f"unchanged); would quarantine {quarantined} rows. Nothing was written."
        )
    return (
        f"Inserted {new} new subscriptions and updated {updated} ({unchanged} unchanged); "
        f"quarantined {quarantined} rows."
    )
