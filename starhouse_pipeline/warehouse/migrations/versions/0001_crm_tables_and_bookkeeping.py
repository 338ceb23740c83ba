"""Create the CRM tables, or fit an existing CRM database; add the pipeline's bookkeeping.

An existing StarHouse database already has `contacts`, `products` and `transactions`, with
columns and rows from other systems. For those, this migration only adds what the pipeline
needs (nullable provenance columns, the uniqueness it relies on) and never rewrites data.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from starhouse_pipeline.warehouse import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_CRM_TABLES = (tables.contacts, tables.products, tables.transactions)
_BOOKKEEPING_TABLES = (tables.import_runs, tables.quarantined_rows, tables.contact_enrichment_log)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in _CRM_TABLES:
        if table.name in existing:
            _fit_existing_table(bind, table)
        else:
            table.create(bind)
    for table in _BOOKKEEPING_TABLES:
        table.create(bind, checkfirst=True)


def _fit_existing_table(bind: sa.Connection, table: sa.Table) -> None:
    inspector = sa.inspect(bind)
    present = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    index_names = {index["name"] for index in inspector.get_indexes(table.name)}
    unique_names = {c["name"] for c in inspector.get_unique_constraints(table.name)}
    for index in table.indexes:
        if index.name not in index_names:
            if index.unique:
                _refuse_duplicates(bind, table, list(index.expressions))
            index.create(bind)
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and constraint.name not in unique_names:
            columns = [column.name for column in constraint.columns]
            if not _has_unique_on(inspector, table.name, columns):
                _refuse_duplicates(bind, table, list(constraint.columns))
                op.create_index(constraint.name, table.name, columns, unique=True)
    for column in table.columns:
        if column.unique and not _has_unique_on(inspector, table.name, [column.name]):
            _refuse_duplicates(bind, table, [column])
            op.create_index(
                f"uq_{table.name}_{column.name}", table.name, [column.name], unique=True
            )


def _refuse_duplicates(bind: sa.Connection, table: sa.Table, keys: list) -> None:
    """Stop with the ids to merge when existing rows break a uniqueness the pipeline needs.

    Only ids are named: the duplicated values may be personal data (emails).
    """
    groups = bind.execute(
        sa.select(sa.func.min(table.c.id), sa.func.max(table.c.id), sa.func.count())
        .where(*(key.is_not(None) for key in keys))
        .group_by(*keys)
        .having(sa.func.count() > 1)
        .limit(10)
    ).all()
    if groups:
        examples = "; ".join(f"ids {low}..{high} ({n} rows)" for low, high, n in groups)
        described = ", ".join(str(key) for key in keys)
        raise RuntimeError(
            f"{table.name} has rows sharing {described}, which the pipeline needs unique; "
            f"merge them first (for example {examples})"
        )


def _has_unique_on(inspector: sa.Inspector, table_name: str, columns: list[str]) -> bool:
    uniques = [c["column_names"] for c in inspector.get_unique_constraints(table_name)]
    uniques += [i["column_names"] for i in inspector.get_indexes(table_name) if i["unique"]]
    return any(list(found) == columns for found in uniques)


def downgrade() -> None:
    for table in reversed(_BOOKKEEPING_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
