"""Turning validated rows into CRM transactions and deciding what is new, changed or unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain import reconciliation
from starhouse_pipeline.domain.accounting import RowAccounting
from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.validation import (
    RAW_JSON,
    ROW_HASH,
    ValidatedExport,
    line_span,
    original_json,
)
from starhouse_pipeline.settings import SOURCE_SYSTEM

TRANSACTION_RECORD_COLUMNS = (
    "source_system",
    "external_transaction_id",
    "external_order_id",
    "transaction_date",
    "transaction_type",
    "status",
    "amount",
    "currency",
    "payment_method",
    "payment_processor",
    "raw_source",
    "source_row_hash",
    "contact_id",
    "product_id",
)


# Table column <- valid-row column, for the columns copied from the export.
FROM_VALID_ROW = {
    "external_transaction_id": "external_transaction_id",
    "external_order_id": "order_no",
    "transaction_date": "transaction_date",
    "transaction_type": "transaction_type",
    "status": "status",
    "amount": "amount",
    "currency": "currency",
    "payment_method": "payment_method",
    "payment_processor": "provider",
    "source_row_hash": ROW_HASH,
}
# What `transaction_records` and `export_facts` read of each valid row (offer and email link
# the record to its product and contact).
LOAD_COLUMNS = (*FROM_VALID_ROW.values(), "offer_id", "email")


@dataclass(frozen=True)
class TransactionChanges:
    """Incoming records split by what the warehouse already holds.

    `new` and `changed` still carry the original text columns instead of `raw_source`;
    `record_batches` turns them into the table's rows a batch at a time.
    """

    new: pl.DataFrame
    changed: pl.DataFrame
    unchanged: int


def transaction_records(
    validated: ValidatedExport, product_ids: pl.DataFrame, contact_ids: pl.DataFrame
) -> pl.DataFrame:
    """The transactions table's columns for every valid row, linked to contact and product.

    `source_row_hash` fingerprints the original CSV row, so a re-import can tell an unchanged
    transaction from one Kajabi changed without comparing JSON documents. `raw_source` is
    not built here (see `record_batches`); `_line` ties each record to its row in the file.
    """
    return (
        validated.valid.join(
            product_ids.select("offer_id", "product_id"),
            on="offer_id",
            how="left",
            maintain_order="left",
        )
        .join(
            contact_ids.select("email", "contact_id"),
            on="email",
            how="left",
            maintain_order="left",
        )
        .select(
            pl.lit(SOURCE_SYSTEM).alias("source_system"),
            *(pl.col(source).alias(column) for column, source in FROM_VALID_ROW.items()),
            pl.col("contact_id").cast(CRM_KEY),
            pl.col("product_id").cast(CRM_KEY),
            LINE_COLUMN,
        )
    )


def record_batches(records: pl.DataFrame, validated: ValidatedExport) -> Iterator[pl.DataFrame]:
    """The transactions table's rows, `raw_source` included, one bounded batch at a time.

    Each record's original JSON is rebuilt from the export as it streams past; records are
    in file order, so each batch of JSON meets one contiguous slice of them.
    """
    if not records.get_column(LINE_COLUMN).is_sorted():
        records = records.sort(LINE_COLUMN)
    lines = records.get_column(LINE_COLUMN)
    for batch in original_json(lines, validated.export, validated.source_columns):
        span = line_span(lines, batch.get_column(LINE_COLUMN))
        yield (
            records.slice(span.start, span.stop - span.start)
            .join(batch, on=LINE_COLUMN, how="inner", maintain_order="left")
            .rename({RAW_JSON: "raw_source"})
            .select(TRANSACTION_RECORD_COLUMNS)
        )


def classify_changes(records: pl.DataFrame, not_held_as_is: pl.DataFrame) -> TransactionChanges:
    """Split records by the ids the warehouse does not hold exactly as they are.

    `not_held_as_is` has (external_transaction_id, held): an id the warehouse lacks is new,
    one it holds with another row hash changed; every other record is unchanged. Records
    are filtered only when a split is needed, so a first import copies no million-row frame.
    """
    ids = pl.col("external_transaction_id")
    held = not_held_as_is.get_column("held")
    new_ids = not_held_as_is.get_column("external_transaction_id").filter(~held)
    changed_ids = not_held_as_is.get_column("external_transaction_id").filter(held)
    return TransactionChanges(
        new=_rows_where(records, ids.is_in(new_ids.implode())),
        changed=_rows_where(records, ids.is_in(changed_ids.implode())),
        unchanged=records.height - not_held_as_is.height,
    )


def _rows_where(records: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
    mask = records.select(condition.fill_null(False)).to_series()
    return records if mask.all() else records.filter(mask)


@dataclass(frozen=True)
class ExportFacts:
    """What the checks compare the warehouse against, small enough to pass around cheaply."""

    rows_read: int
    quarantined: int
    collapsed: int
    keys: pl.DataFrame  # external_transaction_id, offer_id (of every valid row)
    totals: pl.DataFrame  # reconciliation.totals_by_kind of the valid rows
    revenue: pl.DataFrame  # reconciliation.revenue_by_currency of the valid rows
    not_revenue: pl.DataFrame  # reconciliation.not_revenue_by_status of the valid rows


def export_facts(validated: ValidatedExport) -> ExportFacts:
    valid = validated.valid
    return ExportFacts(
        rows_read=validated.rows_read,
        quarantined=validated.quarantined.height,
        collapsed=len(validated.collapsed_lines),
        keys=valid.select("external_transaction_id", "offer_id"),
        totals=reconciliation.totals_by_kind(valid),
        revenue=reconciliation.revenue_by_currency(valid),
        not_revenue=reconciliation.not_revenue_by_status(valid),
    )


@dataclass(frozen=True)
class LoadOutcome:
    """What loading one export did (or, on a dry run, would do), and what it was given."""

    dry_run: bool
    inserted: int
    updated: int
    unchanged: int
    totals_before: pl.DataFrame
    export: ExportFacts

    @property
    def counts(self) -> dict[str, int]:
        return {"loaded new": self.inserted, "updated": self.updated, "unchanged": self.unchanged}

    @property
    def accounting(self) -> RowAccounting:
        """Rows read = loaded new + updated + unchanged + quarantined + collapsed duplicates."""
        places = {
            **self.counts,
            "quarantined": self.export.quarantined,
            "duplicates_collapsed": self.export.collapsed,
        }
        return RowAccounting(self.export.rows_read, places)
