"""Loading transactions: stage once, then one INSERT and one UPDATE, keyed on the source id."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS
from starhouse_pipeline.settings import SOURCE_SYSTEM
from starhouse_pipeline.warehouse.dialect import as_json, count_affected, upsert_insert
from starhouse_pipeline.warehouse.staging import stage_frame
from starhouse_pipeline.warehouse.tables import IdType, transactions
from starhouse_pipeline.warehouse.types import Money, UtcDateTime

_STAGE_TYPES: dict[str, sa.types.TypeEngine] = {
    column: sa.Text() for column in TRANSACTION_RECORD_COLUMNS
} | {
    "transaction_date": UtcDateTime(),
    "amount": Money(),
    "contact_id": IdType,
    "product_id": IdType,
}
_UPDATABLE = [
    c for c in TRANSACTION_RECORD_COLUMNS if c not in ("source_system", "external_transaction_id")
]


@dataclass(frozen=True)
class LoadCounts:
    inserted: int
    updated: int


def stage_transactions(connection: sa.Connection, records: pl.DataFrame) -> sa.Table:
    return stage_frame(connection, "stage_transactions", records, _STAGE_TYPES)


def read_held_hashes(connection: sa.Connection, staged: sa.Table) -> pl.DataFrame:
    """The row hash the warehouse holds for each staged id that it already has."""
    rows = connection.execute(
        sa.select(transactions.c.external_transaction_id, transactions.c.source_row_hash).join(
            staged, _same_transaction(staged)
        )
    ).all()
    schema = {"external_transaction_id": pl.String, "source_row_hash": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _same_transaction(staged: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        transactions.c.source_system == staged.c.source_system,
        transactions.c.external_transaction_id == staged.c.external_transaction_id,
    )


def upsert_transactions(connection: sa.Connection, staged: sa.Table, run_id: str) -> LoadCounts:
    """Insert staged rows the warehouse lacks; update those whose source row changed."""
    columns = [*TRANSACTION_RECORD_COLUMNS, "import_run_id"]
    selected = [
        as_json(connection, staged.c.raw_source) if c == "raw_source" else staged.c[c]
        for c in TRANSACTION_RECORD_COLUMNS
    ]
    insert = upsert_insert(connection, transactions).from_select(
        columns,
        sa.select(*selected, sa.literal(run_id, sa.Text())).where(
            ~sa.exists().where(_same_transaction(staged))
        ),
    )
    inserted = count_affected(
        connection,
        insert.on_conflict_do_nothing(index_elements=["source_system", "external_transaction_id"]),
    )
    update = (
        sa.update(transactions)
        .where(
            _same_transaction(staged),
            transactions.c.source_row_hash.is_distinct_from(staged.c.source_row_hash),
        )
        .values(
            {
                **{
                    c: as_json(connection, staged.c.raw_source)
                    if c == "raw_source"
                    else staged.c[c]
                    for c in _UPDATABLE
                },
                "import_run_id": run_id,
                "updated_at": sa.func.now(),
            }
        )
    )
    updated = count_affected(connection, update)
    return LoadCounts(inserted=inserted, updated=updated)


def stage_transaction_keys(connection: sa.Connection, external_ids: pl.Series) -> sa.Table:
    """Stage the ids of one export, to read back exactly what the warehouse holds for them."""
    keys = (
        external_ids.alias("external_transaction_id")
        .to_frame()
        .with_columns(pl.lit(SOURCE_SYSTEM).alias("source_system"))
    )
    types = {"source_system": sa.Text(), "external_transaction_id": sa.Text()}
    return stage_frame(connection, "stage_transaction_keys", keys, types)


def revenue_for_staged(connection: sa.Connection, staged: sa.Table) -> pl.DataFrame:
    """Completed revenue per currency computed by the database, independently of polars."""
    completed = sa.case((transactions.c.status == "completed", transactions.c.amount))
    rows = connection.execute(
        sa.select(
            transactions.c.currency,
            sa.type_coerce(sa.func.sum(completed), Money()).label("revenue"),
        )
        .join(staged, _same_transaction(staged))
        .group_by(transactions.c.currency)
        .having(sa.func.count(completed) > 0)
        .order_by(transactions.c.currency)
    ).all()
    schema = {"currency": pl.String, "revenue": pl.Decimal(12, 2)}
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_loaded(connection: sa.Connection, staged: sa.Table) -> pl.DataFrame:
    """What the warehouse now holds for the staged ids: the reconciliation's other side."""
    rows = connection.execute(
        sa.select(
            transactions.c.external_transaction_id,
            transactions.c.transaction_type,
            transactions.c.status,
            transactions.c.currency,
            transactions.c.amount,
            transactions.c.contact_id,
            transactions.c.product_id,
        ).join(staged, _same_transaction(staged))
    ).all()
    schema = {
        "external_transaction_id": pl.String,
        "transaction_type": pl.String,
        "status": pl.String,
        "currency": pl.String,
        "amount": pl.Decimal(12, 2),
        "contact_id": pl.Int64,
        "product_id": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def totals_by_source_system(connection: sa.Connection) -> pl.DataFrame:
    """Row count and completed-revenue per source system, for before/after in the report."""
    completed = sa.case((transactions.c.status == "completed", transactions.c.amount))
    rows = connection.execute(
        sa.select(
            transactions.c.source_system,
            sa.func.count().label("rows"),
            sa.type_coerce(sa.func.coalesce(sa.func.sum(completed), 0), Money()).label("revenue"),
        )
        .group_by(transactions.c.source_system)
        .order_by(transactions.c.source_system)
    ).all()
    schema = {"source_system": pl.String, "rows": pl.Int64, "revenue": pl.Decimal(12, 2)}
    return pl.DataFrame(rows, schema=schema, orient="row")
