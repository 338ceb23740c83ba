"""The Kajabi Subscriptions import's own table: upserted from an export, read for the MRR.

Rows are keyed on (source_system, external_subscription_id); a re-import of the same export
changes nothing, a newer one updates what Kajabi changed (its row hash differs).
"""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.analytics.frames import MONEY
from starhouse_pipeline.domain.changes import classify_changes, not_held_as_they_are
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.subscriptions import (
    CRM_SUBSCRIPTION_COLUMNS,
    RAW_JSON,
    SUBSCRIPTION_RECORD_COLUMNS,
)
from starhouse_pipeline.domain.validation import ROW_HASH
from starhouse_pipeline.settings import SOURCE_SYSTEM
from starhouse_pipeline.warehouse.dialect import upsert_insert
from starhouse_pipeline.warehouse.staging import stage_frame
from starhouse_pipeline.warehouse.subscription_tables import subscriptions

SUBSCRIPTIONS_SCHEMA: dict[str, pl.DataType] = {
    "subscription_id": pl.Int64(),
    "contact_id": CRM_KEY(),
    "product_id": CRM_KEY(),
    "amount": MONEY,
    "currency": pl.String(),
    "interval_months": pl.Int64(),
    "status": pl.String(),
    "next_payment_on": pl.Date(),
    "canceled_on": pl.Date(),
}


def read_subscriptions(connection: sa.Connection) -> pl.DataFrame:
    """The imported Subscriptions export: what Kajabi says each subscriber pays."""
    query = sa.select(
        subscriptions.c.id.label("subscription_id"),
        subscriptions.c.contact_id,
        subscriptions.c.product_id,
        subscriptions.c.amount,
        subscriptions.c.currency,
        subscriptions.c.interval_months,
        subscriptions.c.status,
        subscriptions.c.next_payment_on,
        subscriptions.c.canceled_on,
    )
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=SUBSCRIPTIONS_SCHEMA, orient="row")


# Columns a newer export may change; the key and the first-seen time stay as they were.
_SUBSCRIPTION_UPDATE_COLUMNS = (
    *(c for c in SUBSCRIPTION_RECORD_COLUMNS if c not in ("external_subscription_id", RAW_JSON)),
    "raw_source",
    "import_run_id",
)


def upsert_subscriptions(
    connection: sa.Connection, records: pl.DataFrame, run_id: str, *, dry_run: bool
) -> dict[str, int]:
    """Insert new subscriptions and update the ones Kajabi changed; count each kind."""
    key = "external_subscription_id"
    held = _held_subscription_hashes(connection, records.get_column(key))
    changes = classify_changes(records, not_held_as_they_are(records, held, key), key)
    counts = changes.counts
    to_write = pl.concat([changes.new, changes.changed])
    if dry_run or to_write.is_empty():
        return counts
    values = [
        {
            **row,
            "raw_source": json.loads(row.pop("raw_json")),
            "source_system": SOURCE_SYSTEM,
            "import_run_id": run_id,
        }
        for row in to_write.to_dicts()
    ]
    insert = upsert_insert(connection, subscriptions)
    statement = insert.on_conflict_do_update(
        index_elements=["source_system", "external_subscription_id"],
        set_={
            **{column: insert.excluded[column] for column in _SUBSCRIPTION_UPDATE_COLUMNS},
            "updated_at": sa.func.now(),
        },
    )
    connection.execute(statement, values)
    return counts


def _stage_subscription_ids(connection: sa.Connection, ids: pl.Series) -> sa.Table:
    return stage_frame(
        connection,
        "stage_subscription_ids",
        ids.alias("external_subscription_id").to_frame(),
        {"external_subscription_id": sa.Text()},
    )


def _held_subscription_hashes(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    staged = _stage_subscription_ids(connection, ids)
    rows = connection.execute(
        sa.select(subscriptions.c.external_subscription_id, subscriptions.c.source_row_hash)
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    return pl.DataFrame(
        rows, schema={"external_subscription_id": pl.String, ROW_HASH: pl.String}, orient="row"
    )


def read_subscription_records(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    """The import's stored records for these Kajabi ids, as the pipeline last wrote them."""
    staged = _stage_subscription_ids(connection, ids)
    columns = list(CRM_SUBSCRIPTION_COLUMNS.values())
    rows = connection.execute(
        sa.select(*(subscriptions.c[c] for c in columns))
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    return pl.DataFrame(
        [dict(row._mapping) for row in rows],
        schema={
            **dict.fromkeys(columns, pl.String),
            "amount": MONEY,
            "started_on": pl.Date,
            "next_payment_on": pl.Date,
            "canceled_on": pl.Date,
            "trial_ends_on": pl.Date,
        },
        orient="row",
    )


def read_subscriptions_by_id(connection: sa.Connection, ids: pl.Series) -> pl.DataFrame:
    """The stored subscriptions for these Kajabi ids: status, currency, amount, links."""
    staged = _stage_subscription_ids(connection, ids)
    rows = connection.execute(
        sa.select(
            subscriptions.c.external_subscription_id,
            subscriptions.c.status,
            subscriptions.c.currency,
            subscriptions.c.amount,
            subscriptions.c.contact_id,
            subscriptions.c.product_id,
        )
        .join(staged, staged.c.external_subscription_id == subscriptions.c.external_subscription_id)
        .where(subscriptions.c.source_system == SOURCE_SYSTEM)
    ).all()
    schema = {
        "external_subscription_id": pl.String,
        "status": pl.String,
        "currency": pl.String,
        "amount": MONEY,
        "contact_id": CRM_KEY,
        "product_id": CRM_KEY,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
