"""Reading the warehouse for analytics and replacing the metric tables.

Reads are one set-based SELECT each; writes replace a metric table whole (DELETE + bulk
INSERT) inside the caller's transaction, so readers see the old or the new table, never a mix.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.analytics.frames import MONEY, TRANSACTIONS_SCHEMA
from starhouse_pipeline.warehouse.analytics_tables import subscriptions
from starhouse_pipeline.warehouse.tables import products, transactions

_INSERT_BATCH_ROWS = 5_000

SUBSCRIPTIONS_SCHEMA: dict[str, pl.DataType] = {
    "subscription_id": pl.Int64(),
    "contact_id": pl.Int64(),
    "product_id": pl.Int64(),
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
    total = sa.func.sum(transactions.c.amount, type_=transactions.c.amount.type)
    rows = connection.execute(
        sa.select(transactions.c.currency, total)
        .where(transactions.c.status == "completed")
        .group_by(transactions.c.currency)
    ).all()
    return dict(rows)


def metric_net_by_currency(connection: sa.Connection, table: sa.Table) -> dict[str, Decimal]:
    """A metric table's `net` column summed per currency by the database."""
    total = sa.func.sum(table.c.net, type_=table.c.net.type)
    rows = connection.execute(sa.select(table.c.currency, total).group_by(table.c.currency)).all()
    return dict(rows)
