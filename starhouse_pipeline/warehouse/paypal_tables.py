"""The pipeline's own tables for the PayPal source: product aliases and same payments.

`product_aliases` is the operator's: PayPal item titles are free text, so a title (compared
normalized) may be mapped to a product by hand, and the import consults it before product
names. `same_payments` records each payment found in both the Kajabi and the PayPal export,
with its evidence; revenue and every metric count the PayPal side of a pair out.
"""

from __future__ import annotations

import sqlalchemy as sa

from starhouse_pipeline.settings import PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.tables import metadata, own_id_column
from starhouse_pipeline.warehouse.types import CrmKey, Money, UtcDateTime

product_aliases = sa.Table(
    "product_aliases",
    metadata,
    own_id_column(),
    sa.Column("title", sa.Text, nullable=False, unique=True),
    sa.Column("product_id", CrmKey, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    schema=PIPELINE_SCHEMA,
)

# One row per pair (`ambiguous` false) or per candidate of an ambiguous row (true, never
# counted out). Replaced whole by every run of `same_payments`.
same_payments = sa.Table(
    "same_payments",
    metadata,
    own_id_column(),
    sa.Column("kajabi_transaction_id", CrmKey, sa.ForeignKey("transactions.id"), nullable=False),
    sa.Column("paypal_transaction_id", CrmKey, sa.ForeignKey("transactions.id"), nullable=False),
    sa.Column("kajabi_external_id", sa.Text, nullable=False),
    sa.Column("paypal_external_id", sa.Text, nullable=False),
    sa.Column("contact_id", CrmKey, sa.ForeignKey("contacts.id")),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("seconds_apart", sa.Integer, nullable=False),
    sa.Column("ambiguous", sa.Boolean, nullable=False),
    sa.Column("recorded_by_run_id", sa.Text, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    schema=PIPELINE_SCHEMA,
)

PAYPAL_TABLES = (product_aliases, same_payments)
