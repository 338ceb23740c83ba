"""Loading transactions, keyed on (source_system, external_transaction_id).

Only the keys and row hashes are staged to decide what is new, changed or unchanged; then
new rows go straight into the table in bulk (COPY on PostgreSQL) and changed rows are staged
whole and applied with one UPDATE ... FROM. An unchanged re-import moves only the keys.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.transactions import FROM_VALID_ROW, TRANSACTION_RECORD_COLUMNS
from starhouse_pipeline.domain.validation import ROW_HASH
from starhouse_pipeline.settings import SOURCE_SYSTEM
from starhouse_pipeline.warehouse.crm import refused_rows
from starhouse_pipeline.warehouse.dialect import count_affected
from starhouse_pipeline.warehouse.staging import (
    analyze,
    copy_rows,
    fetch_frame,
    stage_frame,
    stage_like,
)
from starhouse_pipeline.warehouse.tables import transactions
from starhouse_pipeline.warehouse.types import money_sum

_TEXT = sa.Text()
_KEY_TYPES = {"source_system": _TEXT, "external_transaction_id": _TEXT, "source_row_hash": _TEXT}
# Compared as text: an existing CRM may declare status as an enum, which has no `=` with a
# bound varchar parameter.
_IS_COMPLETED = sa.cast(transactions.c.status, sa.Text()) == "completed"
_REANALYZE_AFTER_ROWS = 10_000
_UPDATABLE = [
    c for c in TRANSACTION_RECORD_COLUMNS if c not in ("source_system", "external_transaction_id")
]


def refused_by_crm(
    connection: sa.Connection, valid: pl.DataFrame, source_system: str = SOURCE_SYSTEM
) -> pl.DataFrame:
    """The valid rows (line, rule, reason) the CRM's own constraints would refuse.

    The CHECKs and enum types of `transactions` judge each row as it would be written, and
    those of `contacts` its customer's email (a contact the import may have to create).
    Raises `crm.CrmRefusesEveryRow` when a constraint refuses what every row carries.
    """
    constants = {"source_system": source_system}
    as_transactions = valid.select(
        LINE_COLUMN, *(pl.col(source).alias(column) for column, source in FROM_VALID_ROW.items())
    )
    as_contacts = valid.select(LINE_COLUMN, "email")
    refused = pl.concat(
        [
            refused_rows(connection, "transactions", as_transactions, constants),
            refused_rows(connection, "contacts", as_contacts, constants),
        ],
        how="diagonal_relaxed",
    )
    return refused.select(LINE_COLUMN, "rule", "reason")


def _same_transaction(staged: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        transactions.c.source_system == staged.c.source_system,
        transactions.c.external_transaction_id == staged.c.external_transaction_id,
    )


def holds_rows_of(connection: sa.Connection, source_system: str) -> bool:
    """Whether the warehouse holds any transaction of `source_system` (one index probe)."""
    of_source = transactions.c.source_system == source_system
    return connection.execute(sa.select(sa.exists().where(of_source))).scalar()


def fingerprints_not_held(
    connection: sa.Connection,
    fingerprints: pl.DataFrame | Iterable[pl.DataFrame],
    source_system: str = SOURCE_SYSTEM,
) -> pl.DataFrame:
    """`keys_not_held_as_they_are` of an export's row fingerprints (id, row hash; in batches,
    staged as they come), always compared: the caller has asked `holds_rows_of` first."""
    source = pl.lit(source_system).alias("source_system")
    batches = [fingerprints] if isinstance(fingerprints, pl.DataFrame) else fingerprints
    keys = (batch.select(source, "external_transaction_id", ROW_HASH) for batch in batches)
    return _compare_hashes(connection, keys)


def keys_not_held_as_they_are(
    connection: sa.Connection, records: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """The ids of `records` that the warehouse lacks (`held` false) or holds with another
    row hash (`held` true); every other record is already held exactly as it is.

    The database compares the hashes, so only the keys of rows to write come back: none
    for an unchanged re-import. A row kept without hash (loaded by another tool) differs.
    A first import of a source stages nothing: every key is new. Of `records` (a frame, or
    a scan), only the key and hash columns are read.
    """
    records = records.lazy()
    sources = records.select(pl.col("source_system").unique()).collect().to_series().to_list()
    if not any(holds_rows_of(connection, source) for source in sources):
        return records.select("external_transaction_id", pl.lit(False).alias("held")).collect()
    return _compare_hashes(connection, records.select(list(_KEY_TYPES)).collect())


def _compare_hashes(
    connection: sa.Connection, records: pl.DataFrame | Iterable[pl.DataFrame]
) -> pl.DataFrame:
    staged = stage_frame(connection, "stage_transaction_hashes", records, _KEY_TYPES)
    held = transactions.c.id.is_not(None)
    query = (
        sa.select(staged.c.external_transaction_id, held.label("held"))
        .select_from(staged.outerjoin(transactions, _same_transaction(staged)))
        .where(
            sa.or_(
                transactions.c.id.is_(None),
                transactions.c.source_row_hash.is_distinct_from(staged.c.source_row_hash),
            )
        )
    )
    return fetch_frame(
        connection, query, {"external_transaction_id": pl.String, "held": pl.Boolean}
    )


def insert_new(connection: sa.Connection, new: Iterable[pl.DataFrame], run_id: str) -> int:
    """Bulk-insert batches of records known to be new (the caller holds the import lock)."""
    # Set here rather than left to a default: an existing CRM table may have none.
    created_at = datetime.now(UTC)
    rows = (
        batch.select(TRANSACTION_RECORD_COLUMNS).with_columns(
            import_run_id=pl.lit(run_id), created_at=pl.lit(created_at)
        )
        for batch in new
    )
    inserted = copy_rows(connection, transactions, rows)
    if inserted >= _REANALYZE_AFTER_ROWS:
        # The checks join the export's keys to this table right after the load; stale
        # statistics plan that join as a million index lookups.
        analyze(connection, transactions)
    return inserted


def update_changed(connection: sa.Connection, changed: Iterable[pl.DataFrame], run_id: str) -> int:
    """Apply batches of records whose source row changed since the warehouse last saw them."""
    columns = list(TRANSACTION_RECORD_COLUMNS)
    batches = (batch.select(columns) for batch in changed)
    staged = stage_like(connection, "stage_changed_transactions", transactions, columns, batches)
    values = {column: staged.c[column] for column in _UPDATABLE}
    update = (
        sa.update(transactions)
        .where(
            _same_transaction(staged),
            transactions.c.source_row_hash.is_distinct_from(staged.c.source_row_hash),
        )
        .values({**values, "import_run_id": run_id, "updated_at": sa.func.now()})
    )
    return count_affected(connection, update)


def stage_export_keys(
    connection: sa.Connection, valid: pl.DataFrame, source_system: str = SOURCE_SYSTEM
) -> sa.Table:
    """Stage one export's ids (and whether each has an offer) to read back what is held."""
    keys = valid.select(
        pl.lit(source_system).alias("source_system"),
        "external_transaction_id",
        pl.col("offer_id").is_not_null().alias("has_offer"),
    )
    types = {"source_system": _TEXT, "external_transaction_id": _TEXT, "has_offer": sa.Boolean()}
    return stage_frame(connection, "stage_export_keys", keys, types)


def _unlinked(staged: sa.Table) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """A held row lacks its contact; a held row with an offer lacks its product."""
    without_contact = transactions.c.contact_id.is_(None)
    without_product = sa.and_(staged.c.has_offer, transactions.c.product_id.is_(None))
    return without_contact, without_product


def totals_for_staged(connection: sa.Connection, staged: sa.Table) -> pl.DataFrame:
    """Per (type, status, currency) of the export's held rows: row count, exact amount, and
    how many lack a contact, or have an offer but lack a product. One pass of one join."""
    without_contact, without_product = _unlinked(staged)
    kind = (transactions.c.transaction_type, transactions.c.status, transactions.c.currency)
    rows = connection.execute(
        sa.select(
            *kind,
            sa.func.count().label("rows"),
            money_sum(transactions.c.amount).label("amount"),
            sa.func.count().filter(without_contact).label("without_contact"),
            sa.func.count().filter(without_product).label("without_product"),
        )
        .join(staged, _same_transaction(staged))
        .group_by(*kind)
    ).all()
    schema = {
        "transaction_type": pl.String,
        "status": pl.String,
        "currency": pl.String,
        "rows": pl.Int64,
        "amount": pl.Decimal(38, 2),
        "without_contact": pl.Int64,
        "without_product": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(list(schema)[:3])


def unlinked_examples(connection: sa.Connection, staged: sa.Table, limit: int = 10) -> list[str]:
    """A few ids of the export's held rows without a contact, or without their product."""
    query = (
        sa.select(transactions.c.external_transaction_id)
        .join(staged, _same_transaction(staged))
        .where(sa.or_(*_unlinked(staged)))
        .order_by(transactions.c.external_transaction_id)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def totals_by_source_system(connection: sa.Connection) -> pl.DataFrame:
    """Row count and completed revenue per source system and currency, for before/after in
    the report (money of two currencies is never added up)."""
    completed = sa.case((_IS_COMPLETED, transactions.c.amount))
    kind = (transactions.c.source_system, transactions.c.currency)
    rows = connection.execute(
        sa.select(
            *kind,
            sa.func.count().label("rows"),
            sa.func.coalesce(money_sum(completed), 0).label("revenue"),
        )
        .group_by(*kind)
        .order_by(*kind)
    ).all()
    schema = {
        "source_system": pl.String,
        "currency": pl.String,
        "rows": pl.Int64,
        "revenue": pl.Decimal(38, 2),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
