"""Reading the warehouse for analytics and replacing the metric tables.

Reads are one set-based SELECT each; writes replace a metric table whole (DELETE + bulk
INSERT) inside the caller's transaction, so readers see the old or the new table, never a mix.
"""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.analytics.frames import MONEY, TRANSACTIONS_SCHEMA
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.people import (
    PEOPLE_FIELDS,
    PEOPLE_SOURCE,
    SNAPSHOT_SCHEMA,
    PeoplePlan,
)
from starhouse_pipeline.domain.subscriptions import CRM_SUBSCRIPTION_COLUMNS
from starhouse_pipeline.settings import SOURCE_SYSTEM
from starhouse_pipeline.warehouse.analytics_tables import contact_conflicts, subscriptions
from starhouse_pipeline.warehouse.contacts import (
    create_contacts,
    fill_empty,
    log_fills,
    stage_emails,
)
from starhouse_pipeline.warehouse.crm import email_matches
from starhouse_pipeline.warehouse.dialect import locking, upsert_insert
from starhouse_pipeline.warehouse.staging import stage_frame
from starhouse_pipeline.warehouse.tables import (
    CONTACT_EMAIL_KEY,
    contacts,
    products,
    transactions,
)
from starhouse_pipeline.warehouse.types import money_sum

_INSERT_BATCH_ROWS = 5_000

SUBSCRIPTIONS_SCHEMA: dict[str, pl.DataType] = {
    "subscription_id": pl.Int64(),
    "contact_id": CRM_KEY(),
    "product_id": CRM_KEY(),
    "amount": MONEY,
    "currency": pl.String(),
    "interval_months": pl.Int64(),
    "status": pl.String(),
    "next_payment_on": pl.Date(),
    "canceled_on": pl.Date(),
}


def read_transactions(connection: sa.Connection) -> pl.DataFrame:
    """Every transaction of every source system, with its product's name."""
    query = sa.select(
        transactions.c.id.label("transaction_id"),
        transactions.c.source_system,
        transactions.c.transaction_date,
        transactions.c.transaction_type,
        transactions.c.status,
        transactions.c.amount,
        transactions.c.currency,
        transactions.c.contact_id,
        transactions.c.product_id,
        products.c.name.label("product_name"),
    ).outerjoin(products, products.c.id == transactions.c.product_id)
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=TRANSACTIONS_SCHEMA, orient="row")


def read_subscriptions(connection: sa.Connection) -> pl.DataFrame:
    """The imported Subscriptions export: what Kajabi says each subscriber pays."""
    query = sa.select(
        subscriptions.c.id.label("subscription_id"),
        subscriptions.c.contact_id,
        subscriptions.c.product_id,
        subscriptions.c.amount,
        subscriptions.c.currency,
        subscriptions.c.interval_months,
        subscriptions.c.status,
        subscriptions.c.next_payment_on,
        subscriptions.c.canceled_on,
    )
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=SUBSCRIPTIONS_SCHEMA, orient="row")


def read_metric_table(connection: sa.Connection, table: sa.Table) -> pl.DataFrame:
    """A metric table's rows (without `computed_at`), for checks and tests."""
    columns = [column for column in table.columns if column.name != "computed_at"]
    rows = connection.execute(sa.select(*columns)).all()
    return pl.DataFrame(
        [dict(row._mapping) for row in rows],
        schema=[column.name for column in columns],
        orient="row",
        infer_schema_length=None,
    )


def replace_metric_table(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Replace every row of a metric table with `frame` (columns the table lacks are dropped)."""
    connection.execute(sa.delete(table))
    names = [column.name for column in table.columns if column.name in frame.columns]
    # An empty executemany would insert one row of defaults, so empty frames skip it.
    for chunk in frame.select(names).iter_slices(n_rows=_INSERT_BATCH_ROWS):
        if chunk.height:
            connection.execute(table.insert(), chunk.to_dicts())
    return frame.height


def completed_revenue_by_currency(connection: sa.Connection) -> dict[str, Decimal]:
    """Completed money per currency summed by the database itself, for cross-checks."""
    total = money_sum(transactions.c.amount)
    rows = connection.execute(
        sa.select(transactions.c.currency, total)
        # As text: an existing CRM may declare status as an enum, which has no `=` with varchar.
        .where(sa.cast(transactions.c.status, sa.Text()) == "completed")
        .group_by(transactions.c.currency)
    ).all()
    return dict(rows)


def metric_net_by_currency(connection: sa.Connection, table: sa.Table) -> dict[str, Decimal]:
    """A metric table's `net` column summed per currency by the database."""
    total = money_sum(table.c.net)
    rows = connection.execute(sa.select(table.c.currency, total).group_by(table.c.currency)).all()
    return dict(rows)


# -- the Subscriptions and People exports ---------------------------------------------------


# Columns a newer export may change; the key and the first-seen time stay as they were.
_SUBSCRIPTION_UPDATE_COLUMNS = (
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
    "raw_source",
    "source_row_hash",
    "import_run_id",
)


def upsert_subscriptions(
    connection: sa.Connection, records: pl.DataFrame, run_id: str, *, dry_run: bool
) -> dict[str, int]:
    """Insert new subscriptions and update the ones Kajabi changed; count each kind."""
    held = _held_subscription_hashes(connection, records.get_column("external_subscription_id"))
    known = records.join(held, on="external_subscription_id", how="left")
    is_new = pl.col("_held_hash").is_null()
    changed = ~is_new & (pl.col("_held_hash") != pl.col("source_row_hash"))
    counts = {
        "inserted": known.filter(is_new).height,
        "updated": known.filter(changed).height,
        "unchanged": known.filter(~is_new & ~changed).height,
    }
    to_write = known.filter(is_new | changed).drop("_held_hash")
    if dry_run or to_write.is_empty():
        return counts
    values = [
        {
            **row,
            "raw_source": json.loads(row.pop("raw_json")),
            "source_system": SOURCE_SYSTEM,
            "import_run_id": run_id,
        }
        for row in to_write.to_dicts()
    ]
    insert = upsert_insert(connection, subscriptions)
    statement = insert.on_conflict_do_update(
        index_elements=["source_system", "external_subscription_id"],
        set_={
            **{column: insert.excluded[column] for column in _SUBSCRIPTION_UPDATE_COLUMNS},
            "updated_at": sa.func.now(),
        },
    )
    connection.execute(statement, values)
    return counts


def _stage_subscription_ids(connection: sa.Connection, ids: pl.Series) -> sa.Table:
    return stage_frame(
        connection,
        "stage_subscription_ids",
        ids.alias("external_subscription_id").to_frame(),
        {"external_subscription_id": sa.Text()},
    )


def _held_subscription_hashes(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    staged = _stage_subscription_ids(connection, ids)
    rows = connection.execute(
        sa.select(subscriptions.c.external_subscription_id, subscriptions.c.source_row_hash)
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    return pl.DataFrame(
        rows, schema={"external_subscription_id": pl.String, "_held_hash": pl.String}, orient="row"
    )


def read_subscription_records(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    """The import's stored records for these Kajabi ids, as the pipeline last wrote them."""
    staged = _stage_subscription_ids(connection, ids)
    columns = list(CRM_SUBSCRIPTION_COLUMNS.values())
    rows = connection.execute(
        sa.select(*(subscriptions.c[c] for c in columns))
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    return pl.DataFrame(
        [dict(row._mapping) for row in rows],
        schema={
            **dict.fromkeys(columns, pl.String),
            "amount": MONEY,
            "started_on": pl.Date,
            "next_payment_on": pl.Date,
            "canceled_on": pl.Date,
            "trial_ends_on": pl.Date,
        },
        orient="row",
    )


def read_subscriptions_by_id(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    """The stored subscriptions for these Kajabi ids: status, currency, amount, links."""
    staged = _stage_subscription_ids(connection, ids)
    rows = connection.execute(
        sa.select(
            subscriptions.c.external_subscription_id,
            subscriptions.c.status,
            subscriptions.c.currency,
            subscriptions.c.amount,
            subscriptions.c.contact_id,
            subscriptions.c.product_id,
        )
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    schema = {
        "external_subscription_id": pl.String,
        "status": pl.String,
        "currency": pl.String,
        "amount": MONEY,
        "contact_id": CRM_KEY,
        "product_id": CRM_KEY,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_people_snapshot(connection: sa.Connection, emails: pl.Series) -> pl.DataFrame:
    """The contacts these people match, with the fields the People export may fill."""
    staged = stage_emails(connection, emails.unique())
    query = locking(
        connection,
        sa.select(
            contacts.c.id,
            CONTACT_EMAIL_KEY.label("email_key"),
            contacts.c.deleted_at.is_not(None).label("deleted"),
            *(contacts.c[field] for field in PEOPLE_FIELDS),
        ).join(staged, email_matches(connection, contacts, staged.c.email)),
        contacts,
    )
    return pl.DataFrame(connection.execute(query).all(), schema=SNAPSHOT_SCHEMA, orient="row")


def apply_people_plan(connection: sa.Connection, plan: PeoplePlan, run_id: str) -> dict[str, int]:
    """Create new contacts, fill only empty fields (logged), record conflicts; count all."""
    created = create_contacts(connection, plan.to_create, run_id, PEOPLE_SOURCE)
    filled = fill_empty(connection, plan.fills, PEOPLE_SOURCE)
    log_fills(connection, filled, PEOPLE_SOURCE, run_id)
    conflicts = plan.conflicts.with_columns(
        pl.lit(PEOPLE_SOURCE).alias("source"), pl.lit(run_id).alias("run_id")
    )
    if conflicts.height:
        connection.execute(contact_conflicts.insert(), conflicts.to_dicts())
    return {
        "contacts_created": created,
        "fields_filled": filled.height,
        "conflicts_reported": conflicts.height,
    }


def read_conflicts(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(contact_conflicts.c.contact_id, contact_conflicts.c.field).where(
            contact_conflicts.c.run_id == run_id
        )
    ).all()
    return pl.DataFrame(rows, schema={"contact_id": CRM_KEY, "field": pl.String}, orient="row")
