"""Name the quarantine's row id for what it holds: `source_row_id`.

`quarantined_rows.external_transaction_id` held the row's own id in its export, which for
the Subscriptions and People imports is a subscription's or a person's id, not a
transaction's. The column is renamed in place (values and rows kept); a database created
at this revision or later already has the new name.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from starhouse_pipeline.warehouse.engine import schema_layout
from starhouse_pipeline.warehouse.staging import sql_name
from starhouse_pipeline.warehouse.tables import quarantined_rows

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLE = quarantined_rows.name
_OLD, _NEW = "external_transaction_id", "source_row_id"


def upgrade() -> None:
    _rename(_OLD, _NEW)


def downgrade() -> None:
    _rename(_NEW, _OLD)


def _rename(old: str, new: str) -> None:
    bind = op.get_bind()
    schema = schema_layout(bind).pipeline_schema(bind.dialect.name)
    columns = {column["name"] for column in sa.inspect(bind).get_columns(_TABLE, schema=schema)}
    if old in columns and new not in columns:
        table = sql_name(bind, quarantined_rows)
        op.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')
