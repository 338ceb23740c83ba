"""Turning validated rows into CRM transactions (what is new, changed or unchanged is
`domain/changes.py`'s, shared with the Subscriptions import)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain import reconciliation
from starhouse_pipeline.domain.accounting import RowAccounting
from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.report import REPORT_COLUMNS
from starhouse_pipeline.domain.validation import (
    RAW_JSON,
    ROW_HASH,
    ValidatedExport,
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
# Records built and written at once: bounds the load's memory at any export size (about
# 50 MB of valid rows and 60 MB of their JSON per batch).
RECORD_BATCH_ROWS = 100_000
# What the checks (`export_facts`) read of every row the warehouse is to hold.
FACT_COLUMNS = (
    "external_transaction_id",
    "offer_id",
    "transaction_type",
    "status",
    "currency",
    "amount",
)
# What is kept of a row the warehouse already holds as it is, so that the checks and the
# import report sum the export itself, never trusting the shortcut that skipped typing it.
UNCHANGED_COLUMNS = tuple(dict.fromkeys((*FACT_COLUMNS, *REPORT_COLUMNS)))


def record_keys(validated: ValidatedExport, source_system: str = SOURCE_SYSTEM) -> pl.LazyFrame:
    """Each valid row's key, row hash and line: what the warehouse compares to tell new,
    changed and unchanged records apart, without reading the rest of the rows."""
    return validated.valid.lazy().select(
        pl.lit(source_system).alias("source_system"),
        "external_transaction_id",
        ROW_HASH,
        LINE_COLUMN,
    )


def record_batches(
    validated: ValidatedExport,
    lines: pl.Series,
    product_ids: pl.DataFrame,
    contact_ids: pl.DataFrame,
    *,
    source_system: str = SOURCE_SYSTEM,
    product_key: str = "offer_id",
    batch_rows: int = RECORD_BATCH_ROWS,
) -> Iterator[pl.DataFrame]:
    """The transactions table's rows for the valid rows at `lines`, one bounded batch at a
    time, each linked to its contact and product, `raw_source` included.

    Nothing is held whole: each batch's original JSON is rebuilt from the export as it
    streams past, and its valid rows are read then (the load is given the validated rows as
    a scan of their Parquet file, so a batch reads only its own row groups).
    """
    valid = validated.valid.lazy()
    documents = original_json(lines.sort(), validated.export, validated.source_columns, batch_rows)
    for batch in documents:
        batch_lines = batch.get_column(LINE_COLUMN)
        rows = valid.filter(
            pl.col(LINE_COLUMN).is_between(batch_lines[0], batch_lines[-1]),
            pl.col(LINE_COLUMN).is_in(batch_lines.implode()),
        ).collect()
        yield (
            _linked(rows, product_ids, contact_ids, source_system, product_key)
            .join(batch, on=LINE_COLUMN, how="inner", maintain_order="left")
            .rename({RAW_JSON: "raw_source"})
            .select(TRANSACTION_RECORD_COLUMNS)
        )


def _linked(
    rows: pl.DataFrame,
    product_ids: pl.DataFrame,
    contact_ids: pl.DataFrame,
    source_system: str,
    product_key: str,
) -> pl.DataFrame:
    """Valid rows as the transactions table's columns (but `raw_source`), linked to contact
    and product.

    `product_ids` maps each row's `product_key` (Kajabi's Offer ID, PayPal's item title) to
    its product. `source_row_hash` fingerprints the original row, so a re-import can tell an
    unchanged transaction from one the source changed without comparing JSON documents.
    """
    return (
        rows.join(
            product_ids.select(product_key, "product_id"),
            on=product_key,
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
            pl.lit(source_system).alias("source_system"),
            *(pl.col(source).alias(column) for column, source in FROM_VALID_ROW.items()),
            pl.col("contact_id").cast(CRM_KEY),
            pl.col("product_id").cast(CRM_KEY),
            LINE_COLUMN,
        )
    )


@dataclass(frozen=True)
class ExportFacts:
    """What the checks compare the warehouse against, small enough to pass around cheaply."""

    source_system: str
    rows_read: int
    quarantined: int
    collapsed: int
    skipped: int
    # Of every valid or unchanged row:
    keys: pl.DataFrame  # external_transaction_id, offer_id
    totals: pl.DataFrame  # reconciliation.totals_by_kind
    revenue: pl.DataFrame  # reconciliation.revenue_by_currency
    not_revenue: pl.DataFrame  # reconciliation.not_revenue_by_status


def export_facts(validated: ValidatedExport, source_system: str = SOURCE_SYSTEM) -> ExportFacts:
    """The facts of every row the warehouse is to hold: valid rows and unchanged ones."""
    valid = validated.valid_or_unchanged(FACT_COLUMNS)
    return ExportFacts(
        source_system=source_system,
        rows_read=validated.rows_read,
        quarantined=validated.quarantined.height,
        collapsed=len(validated.collapsed_lines),
        skipped=validated.skipped_rows,
        keys=valid.select("external_transaction_id", "offer_id").collect(),
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
    # The payments found in both sources once this load was in (pairs; ambiguous rows).
    same_payments: int = 0
    ambiguous_same_payments: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {"loaded new": self.inserted, "updated": self.updated, "unchanged": self.unchanged}

    @property
    def accounting(self) -> RowAccounting:
        """Rows read = loaded new + updated + unchanged + quarantined + collapsed duplicates
        (+ skipped: rows of a source that are not sales, such as PayPal's card purchases)."""
        places = {
            **self.counts,
            "quarantined": self.export.quarantined,
            "duplicates_collapsed": self.export.collapsed,
        }
        if self.export.skipped:
            places["not_sales_skipped"] = self.export.skipped
        return RowAccounting(self.export.rows_read, places)
