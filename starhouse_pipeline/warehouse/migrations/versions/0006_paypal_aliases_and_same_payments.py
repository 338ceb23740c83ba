"""Add the PayPal source's own tables: product aliases and same payments.

Both are the pipeline's, in its own schema, their references typed like the CRM's keys;
nothing existing is rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

from starhouse_pipeline.warehouse import crm, paypal_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    shape = crm.crm_shape(bind, refresh=True)
    for table in crm.with_crm_key_types(paypal_tables.PAYPAL_TABLES, shape):
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(paypal_tables.PAYPAL_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
