"""Add the Subscriptions import table, the contact conflict log and the metric tables.

All are the pipeline's own tables, in its own schema, their references to contacts,
products and transactions typed like the CRM's keys; nothing existing is rewritten. The
CRM's own `subscriptions` table, where it has one, is a different table and left alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op

from starhouse_pipeline.warehouse import crm, own_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    shape = crm.crm_shape(bind, refresh=True)
    for table in crm.with_crm_key_types(own_tables.TABLES_OF_0002, shape):
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(own_tables.TABLES_OF_0002):
        table.drop(op.get_bind(), checkfirst=True)
