"""Add the subscriptions import table, the contact conflict log and the metric tables.

All are new tables owned by the pipeline; an existing CRM database that already has a table
of the same name keeps it (checkfirst), and nothing existing is rewritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op

from starhouse_pipeline.warehouse import analytics_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in analytics_tables.ANALYTICS_TABLES:
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in reversed(analytics_tables.ANALYTICS_TABLES):
        table.drop(op.get_bind(), checkfirst=True)
