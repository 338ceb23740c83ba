"""The People import's own table: `contact_conflicts`, the fields where Kajabi and the CRM
differ (contact and field, never the values), reported and never applied."""

from __future__ import annotations

import sqlalchemy as sa

from starhouse_pipeline.settings import PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.tables import metadata, own_id_column
from starhouse_pipeline.warehouse.types import CrmKey, UtcDateTime

contact_conflicts = sa.Table(
    "contact_conflicts",
    metadata,
    own_id_column(),
    sa.Column("contact_id", CrmKey, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("reported_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    schema=PIPELINE_SCHEMA,
)
sa.Index("ix_contact_conflicts_run_id", contact_conflicts.c.run_id)
