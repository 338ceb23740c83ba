"""Move an earlier installation's own tables out of the CRM's schema.

Installations before this revision kept the pipeline's tables beside the CRM's in `public`
(PostgreSQL), and its Subscriptions import table was named `subscriptions`, the name the
operator's CRM uses for a table of its own. This moves every pipeline table, rows and
sequences included, into the pipeline's schema, and renames the import table
`kajabi_subscriptions` (on SQLite too). A `subscriptions` table is the pipeline's only when
it has the import table's own columns; the CRM's is never touched. A fresh installation
created its tables in the right place already, and this does nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from starhouse_pipeline.warehouse import own_tables, subscription_tables, tables
from starhouse_pipeline.warehouse.engine import schema_layout

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OWN_TABLES = (
    tables.import_runs,
    tables.quarantined_rows,
    tables.contact_enrichment_log,
    *own_tables.TABLES_OF_0002,
)
_OLD_IMPORT_TABLE = "subscriptions"
# Columns only the pipeline's import table has.
_IMPORT_TABLE_MARKS = {"external_subscription_id", "source_row_hash", "interval_months"}


def upgrade() -> None:
    bind = op.get_bind()
    layout = schema_layout(bind)
    crm_schema = layout.crm_schema(bind.dialect.name)
    inspector = sa.inspect(bind)
    in_crm_schema = set(inspector.get_table_names(schema=crm_schema))
    if _OLD_IMPORT_TABLE in in_crm_schema and _is_import_table(inspector, crm_schema):
        op.rename_table(
            _OLD_IMPORT_TABLE, subscription_tables.subscriptions.name, schema=crm_schema
        )
        in_crm_schema.add(subscription_tables.subscriptions.name)
    if bind.dialect.name != "postgresql":
        return
    in_own_schema = set(inspector.get_table_names(schema=layout.pipeline))
    for table in _OWN_TABLES:
        if table.name in in_crm_schema and table.name not in in_own_schema:
            op.execute(f'ALTER TABLE "{layout.crm}"."{table.name}" SET SCHEMA "{layout.pipeline}"')


def _is_import_table(inspector: sa.Inspector, schema: str | None) -> bool:
    columns = {c["name"] for c in inspector.get_columns(_OLD_IMPORT_TABLE, schema=schema)}
    return columns >= _IMPORT_TABLE_MARKS


def downgrade() -> None:
    """Nothing to undo: the tables keep working where they are."""
