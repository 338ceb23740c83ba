"""Money in dollars on SQLite: convert the integer cents earlier versions stored.

Up to 0002 the `Money` type kept integer cents on SQLite, so a plain `SELECT SUM(amount)`,
a BI tool or a row another tool inserted as `20.00` was off by 100x. `Money` now stores
dollars on every dialect; this migration divides every money column of every table 0001
and 0002 created by 100, exactly: the integer cents are divided as one float division of
two exact numbers, which gives the float nearest the dollars, the very value the type now
binds (NULLs stay NULL). The declared column type (BIGINT in such a database) is left as it
is: under its INTEGER affinity 22.05 stays 22.05 and 22.00 becomes 22, both read back
exactly; rebuilding the tables to redeclare them would risk the constraints and indexes of
a CRM table the pipeline adopted.

Rows that other tools wrote into such a cents warehouse were in cents too: the old type's
representation was the only one the column had (the pipeline read every value as cents), so
all rows convert. A value that is not a whole number cannot be cents, though: dividing it
would lose digits, so the migration stops and names where such values are, for the operator
to put them in cents (or correct them) before upgrading again.

Only a database that an earlier upgrade had already migrated holds cents. One whose tables
this same upgrade creates, or adopts from another system (an existing CRM file, written in
dollars), is left alone. PostgreSQL always stored NUMERIC dollars: nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The money columns as 0001 and 0002 created them (frozen here: later tables never held cents).
MONEY_COLUMNS_IN_CENTS = {
    "transactions": ("amount",),
    # Created as `subscriptions` by 0002, renamed by 0003.
    "kajabi_subscriptions": ("amount",),
    "analytics_revenue_monthly": ("gross", "refunds", "adjustments", "net"),
    "analytics_product_performance": ("gross", "refunded", "net", "average_price"),
    "analytics_customer_mrr": ("mrr", "previous_mrr", "movement_amount"),
    "analytics_mrr_monthly": (
        "mrr",
        "starting_mrr",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "reactivation_mrr",
        "arpa",
        "ltv",
    ),
    "analytics_customer_value": ("gross", "refunds", "net_revenue"),
    "analytics_failed_payments": ("amount",),
    "analytics_failed_payments_monthly": ("recovered_amount", "lost_amount"),
    "analytics_refund_links": ("refund_amount", "charge_amount"),
    "analytics_refunds_monthly": ("gross", "refunded"),
    "analytics_cohorts": ("net_revenue", "mrr"),
    "analytics_mrr_reconciliation": ("timeline_mrr", "export_mrr", "difference"),
}

_HUNDRED = sa.literal_column("100")
_HUNDRED_FLOAT = sa.literal_column("100.0")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # Set by env.py: the revision the database had before this upgrade began.
    if op.get_context().config.attributes["revision_before_upgrade"] is None:
        return
    columns = list(_money_columns(bind))
    for table, column in columns:
        _refuse_values_that_are_not_cents(bind, table, column)
    for table, column in columns:
        bind.execute(
            sa.update(table)
            .where(column.is_not(None))
            .values({column.name: sa.cast(column, sa.Integer) / _HUNDRED_FLOAT})
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, column in _money_columns(bind):
        cents = sa.cast(sa.func.round(column * _HUNDRED), sa.Integer)
        bind.execute(sa.update(table).where(column.is_not(None)).values({column.name: cents}))


def _money_columns(bind: sa.Connection) -> Iterator[tuple[sa.TableClause, sa.ColumnClause]]:
    """(table, column) for each money column of the list that this database has."""
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for name, columns in MONEY_COLUMNS_IN_CENTS.items():
        if name not in existing:
            continue
        present = {column["name"] for column in inspector.get_columns(name)}
        table = sa.table(name, *(sa.column(column) for column in columns if column in present))
        yield from ((table, column) for column in table.columns)


def _refuse_values_that_are_not_cents(
    bind: sa.Connection, table: sa.TableClause, column: sa.ColumnClause
) -> None:
    """Stop before converting when a value is not whole cents (rowids only, no other data)."""
    not_cents = sa.and_(column.is_not(None), column != sa.func.round(column))
    count = bind.execute(sa.select(sa.func.count()).select_from(table).where(not_cents)).scalar()
    if count:
        rowid = sa.literal_column("rowid")
        examples = bind.execute(
            sa.select(rowid).select_from(table).where(not_cents).order_by(rowid).limit(10)
        ).scalars()
        raise RuntimeError(
            f"{table.name}.{column.name} is not whole cents in {count} row(s) "
            f"(rowids {', '.join(map(str, examples))}): this database stored money in integer "
            "cents, so these were probably written in dollars by another tool. Put them in "
            "cents (or correct them), then upgrade again; nothing was converted."
        )
