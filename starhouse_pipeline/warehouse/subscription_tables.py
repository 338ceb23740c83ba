"""The Subscriptions import's own table, `kajabi_subscriptions` (SQLAlchemy Core)."""

from __future__ import annotations

import sqlalchemy as sa

from starhouse_pipeline.settings import PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.tables import JsonDocument, metadata, own_id_column
from starhouse_pipeline.warehouse.types import CrmKey, Money, UtcDateTime

# The Kajabi Subscriptions export as imported (the CRM's own `subscriptions` table, where
# it has one, is filled from it by `warehouse/crm_subscriptions.py`).
subscriptions = sa.Table(
    "kajabi_subscriptions",
    metadata,
    own_id_column(),
    sa.Column("source_system", sa.Text, nullable=False),
    sa.Column("external_subscription_id", sa.Text, nullable=False),
    sa.Column("contact_id", CrmKey, sa.ForeignKey("contacts.id")),
    sa.Column("product_id", CrmKey, sa.ForeignKey("products.id")),
    sa.Column("kajabi_customer_id", sa.Text),
    sa.Column("kajabi_offer_id", sa.Text),
    sa.Column("offer_title", sa.Text),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("billing_interval", sa.Text, nullable=False),
    sa.Column("interval_months", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_on", sa.Date),
    sa.Column("next_payment_on", sa.Date),
    sa.Column("canceled_on", sa.Date),
    sa.Column("trial_ends_on", sa.Date),
    sa.Column("provider", sa.Text),
    sa.Column("coupon_used", sa.Text),
    sa.Column("raw_source", JsonDocument),
    sa.Column("import_run_id", sa.Text),
    sa.Column("source_row_hash", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", UtcDateTime),
    sa.UniqueConstraint("source_system", "external_subscription_id"),
    schema=PIPELINE_SCHEMA,
)
sa.Index("ix_kajabi_subscriptions_contact_id", subscriptions.c.contact_id)
sa.Index("ix_kajabi_subscriptions_product_id", subscriptions.c.product_id)
