"""The CRM tables the pipeline fits into, and its own bookkeeping tables, in SQLAlchemy Core.

Columns named in CONTEXT.md keep their names and meaning. Columns the pipeline adds are
nullable or defaulted, so rows written by other tools with only the documented columns are
accepted. These definitions are the contract: a fresh database is created from them, and
an existing CRM is read by `crm.py`, which says how it differs (key types, enums, citext,
partial and expression indexes, checks, generated columns). Keys and codes are bound without
a cast (`CrmKey`, `CrmText`), so the same statements fit a uuid key or an enum column.

The CRM tables are unqualified (found through the search path); the pipeline's own tables
are declared in `PIPELINE_SCHEMA`, which the engine translates to the configured schema on
PostgreSQL and to the main database on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from starhouse_pipeline.settings import PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.types import CrmKey, CrmText, Money, UtcDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT identity on a fresh PostgreSQL database (BY DEFAULT, so other systems may insert
# explicit ids), INTEGER (the rowid alias) on SQLite; an existing CRM's own key type otherwise.
IdType = CrmKey
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id_column() -> sa.Column:
    return sa.Column("id", CrmKey(), sa.Identity(always=False), primary_key=True)


def own_id_column() -> sa.Column:
    """The key of a table the pipeline owns: always its own BIGINT identity."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.Identity(always=False),
        primary_key=True,
    )


def _now() -> sa.sql.functions.now:
    return sa.func.now()


contacts = sa.Table(
    "contacts",
    metadata,
    _id_column(),
    sa.Column("email", CrmText(), nullable=False),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("phone_source", sa.Text),
    sa.Column("address_line_1", sa.Text),
    sa.Column("address_line_2", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("postal_code", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("billing_address_source", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=_now()),
    sa.Column("updated_at", UtcDateTime, nullable=False, server_default=_now()),
    sa.Column("deleted_at", UtcDateTime),
    # Added by the pipeline: where a contact it created came from, and which run created it.
    sa.Column("source_system", CrmText()),
    sa.Column("created_by_run_id", sa.Text),
)
CONTACT_EMAIL_KEY = sa.func.lower(sa.func.trim(contacts.c.email))
sa.Index("uq_contacts_email_normalized", CONTACT_EMAIL_KEY, unique=True)

products = sa.Table(
    "products",
    metadata,
    _id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kajabi_offer_id", sa.Text, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=_now()),
    sa.Column("updated_at", UtcDateTime, nullable=False, server_default=_now()),
)

transactions = sa.Table(
    "transactions",
    metadata,
    _id_column(),
    sa.Column("contact_id", CrmKey(), sa.ForeignKey("contacts.id")),
    sa.Column("product_id", CrmKey(), sa.ForeignKey("products.id")),
    sa.Column("source_system", CrmText(), nullable=False),
    sa.Column("external_transaction_id", sa.Text),
    sa.Column("external_order_id", sa.Text),
    sa.Column("transaction_date", UtcDateTime),
    sa.Column("transaction_type", CrmText(), nullable=False),
    sa.Column("status", CrmText(), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", CrmText(), nullable=False, server_default="USD"),
    sa.Column("payment_method", sa.Text),
    sa.Column("payment_processor", sa.Text),
    sa.Column("raw_source", JsonDocument),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=_now()),
    # Added by the pipeline: provenance and change detection.
    sa.Column("updated_at", UtcDateTime),
    sa.Column("import_run_id", sa.Text),
    sa.Column("source_row_hash", sa.Text),
    sa.UniqueConstraint("source_system", "external_transaction_id"),
    sa.CheckConstraint(
        "transaction_type IN ('purchase', 'subscription', 'refund', 'adjustment')",
        name="transaction_type",
    ),
    sa.CheckConstraint("status IN ('completed', 'failed', 'pending')", name="status"),
)
sa.Index("ix_transactions_contact_id", transactions.c.contact_id)
sa.Index("ix_transactions_product_id", transactions.c.product_id)

import_runs = sa.Table(
    "import_runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.Text, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False, server_default=_now()),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_quarantined", sa.Integer),
    sa.Column("rows_collapsed", sa.Integer),
    sa.Column("rows_new", sa.Integer),
    sa.Column("rows_updated", sa.Integer),
    sa.Column("rows_unchanged", sa.Integer),
    schema=PIPELINE_SCHEMA,
)

quarantined_rows = sa.Table(
    "quarantined_rows",
    metadata,
    own_id_column(),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.Text, nullable=False),
    sa.Column("line_number", sa.Integer, nullable=False),
    # The row's own id in its export: a transaction's, a subscription's or a person's.
    sa.Column("source_row_id", sa.Text),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_row", JsonDocument, nullable=False),
    sa.Column("quarantined_at", UtcDateTime, nullable=False, server_default=_now()),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("resolved_by_run_id", sa.Text),
    schema=PIPELINE_SCHEMA,
)
sa.Index("ix_quarantined_rows_run_id", quarantined_rows.c.run_id)

contact_enrichment_log = sa.Table(
    "contact_enrichment_log",
    metadata,
    own_id_column(),
    sa.Column("contact_id", CrmKey(), sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("enriched_at", UtcDateTime, nullable=False, server_default=_now()),
    schema=PIPELINE_SCHEMA,
)
sa.Index("ix_contact_enrichment_log_run_id", contact_enrichment_log.c.run_id)

CRM_TABLES = (contacts, products, transactions)
