"""Reading the warehouse for analytics and replacing the metric tables.

Reads are one set-based SELECT each; writes replace a metric table whole (DELETE + bulk
INSERT) inside the caller's transaction, so readers see the old or the new table, never a mix.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.analytics.frames import TRANSACTIONS_SCHEMA
from starhouse_pipeline.warehouse.paypal import paypal_side_of_pairs
from starhouse_pipeline.warehouse.paypal_tables import same_payments
from starhouse_pipeline.warehouse.tables import (
    products,
    transactions,
)
from starhouse_pipeline.warehouse.types import money_sum

_INSERT_BATCH_ROWS = 5_000


def counted_once(table: sa.FromClause = transactions) -> sa.ColumnElement[bool]:
    """Not the PayPal side of a payment found in both sources (`table`: `transactions` or an
    alias of it)."""
    return table.c.id.not_in(paypal_side_of_pairs())


def pairs_counted_twice(connection: sa.Connection) -> int:
    """How many recorded pairs would have both their rows in what the metrics read: the
    metrics' own predicate, applied to each side of every pair (a few rows, never the table)."""
    kajabi, paypal = transactions.alias("kajabi_side"), transactions.alias("paypal_side")
    query = (
        sa.select(sa.func.count())
        .select_from(same_payments)
        .join(kajabi, kajabi.c.id == same_payments.c.kajabi_transaction_id)
        .join(paypal, paypal.c.id == same_payments.c.paypal_transaction_id)
        .where(~same_payments.c.ambiguous, counted_once(kajabi), counted_once(paypal))
    )
    return connection.execute(query).scalar_one()


def read_transactions(connection: sa.Connection) -> pl.DataFrame:
    """Every transaction of every source system, with its product's name; a PayPal row
    recorded as the same payment as a Kajabi row is left out (the payment counts once)."""
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
    rows = connection.execute(query.where(counted_once())).all()
    return pl.DataFrame(rows, schema=TRANSACTIONS_SCHEMA, orient="row")


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
        .where(sa.cast(transactions.c.status, sa.Text()) == "completed", counted_once())
        .group_by(transactions.c.currency)
    ).all()
    return dict(rows)


def metric_net_by_currency(connection: sa.Connection, table: sa.Table) -> dict[str, Decimal]:
    """A metric table's `net` column summed per currency by the database."""
    total = money_sum(table.c.net)
    rows = connection.execute(sa.select(table.c.currency, total).group_by(table.c.currency)).all()
    return dict(rows)
