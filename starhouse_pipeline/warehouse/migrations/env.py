"""Alembic environment: runs on the connection handed over by `upgrade_database`.

The version table lives in the pipeline's own schema (PostgreSQL), beside its other tables.
"""

from alembic import context

from starhouse_pipeline.warehouse.engine import schema_layout
from starhouse_pipeline.warehouse.migrate import VERSION_TABLE
from starhouse_pipeline.warehouse.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    version_table_schema=schema_layout(connection).pipeline_schema(connection.dialect.name),
    render_as_batch=connection.dialect.name == "sqlite",
)
# What the database held before this upgrade: a data migration such as 0003 converts only
# what an earlier run wrote, not the tables this run creates or adopts.
context.config.attributes["revision_before_upgrade"] = context.get_context().get_current_revision()
# What the database held before this upgrade: a data migration such as 0004 converts only
# what an earlier run wrote, not the tables this run creates or adopts.
context.config.attributes["revision_before_upgrade"] = context.get_context().get_current_revision()
with context.begin_transaction():
    context.run_migrations()
