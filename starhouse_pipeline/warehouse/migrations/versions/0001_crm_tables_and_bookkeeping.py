"""Create the CRM tables, or fit an existing CRM database; add the pipeline's bookkeeping.

An existing StarHouse database already has `contacts`, `products` and `transactions`, with
columns and rows from other systems, keys of its own type (uuid, bigint identity, serial)
and constraints of its own. For those, this migration only adds what the pipeline needs
(nullable provenance columns, the uniqueness it relies on where no equivalent exists) and
never rewrites data; what it cannot fit it refuses, before changing anything, with every
reason at once (`crm.upgrade_refusals`). The pipeline's own tables are created in its own
schema, their references to contacts typed like the CRM's key.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from starhouse_pipeline.warehouse import crm, tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BOOKKEEPING_TABLES = (tables.import_runs, tables.quarantined_rows, tables.contact_enrichment_log)


def upgrade() -> None:
    bind = op.get_bind()
    shape = crm.crm_shape(bind, refresh=True)
    refusals = crm.upgrade_refusals(bind, shape)
    if refusals:
        from starhouse_pipeline.warehouse.migrate import UpgradeRefused

        raise UpgradeRefused(refusals)
    for table in tables.CRM_TABLES:
        if shape.has(table.name):
            _fit_existing_table(bind, table, shape.table(table.name))
        else:
            table.create(bind)
    shape = crm.crm_shape(bind, refresh=True)
    for table in crm.with_crm_key_types(_BOOKKEEPING_TABLES, shape):
        table.create(bind, checkfirst=True)


def _fit_existing_table(bind: sa.Connection, table: sa.Table, shape: crm.TableShape) -> None:
    for column in table.columns:
        if column.name not in shape.columns:
            column_type = crm.ddl_type(column, crm.crm_shape(bind))
            op.add_column(table.name, sa.Column(column.name, column_type, nullable=True))
    for needed in crm.needed_unique_keys(table.name, shape):
        crm.refuse_duplicates(bind, table, needed.keys)
        declared = {index.name: index for index in table.indexes}
        if needed.name in declared:
            declared[needed.name].create(bind)
        else:
            op.create_index(needed.name, table.name, [k.name for k in needed.keys], unique=True)
    indexed = _indexed_first_columns(bind, table.name)
    for index in table.indexes:
        if not index.unique and index.expressions[0].name not in indexed:
            index.create(bind)


def _indexed_first_columns(bind: sa.Connection, table_name: str) -> set[str]:
    """Columns some existing index leads with: an index of ours on them would be a twin."""
    return {
        index["column_names"][0]
        for index in sa.inspect(bind).get_indexes(table_name)
        if index["column_names"] and index["column_names"][0]
    }


def downgrade() -> None:
    for table in reversed(_BOOKKEEPING_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
