"""The import report: what the operator's old script printed, correctly and without PII.

Numbers are formatted by `domain.formatting`; a dry run's report says "would" for everything
it did not write (`would load (new)`, `would create contacts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from starhouse_pipeline.domain.formatting import count, counts_frame, markdown_table
from starhouse_pipeline.domain.mapping import REVENUE_STATUS
from starhouse_pipeline.domain.patterns import normalize_name
from starhouse_pipeline.domain.reconciliation import (
    Rows,
    not_revenue_by_status,
    revenue_by_currency,
    totals_by_kind,
)


@dataclass(frozen=True)
class ImportReportInputs:
    """Everything the report shows; counts and totals only, no personal data."""

    file_name: str
    file_sha256: str
    run_id: str
    dry_run: bool
    valid: Rows  # every valid or unchanged row: a scan of the stored rows, or a frame
    rows_read: int
    quarantined: pl.DataFrame
    collapsed: int
    load_counts: dict[str, int]  # LoadOutcome.counts
    product_counts: dict[str, int]  # by how the product was found: offer_id, name, created
    contact_counts: dict[str, int]  # ContactOutcome.counts
    totals_before: pl.DataFrame
    totals_after: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    title: str = "Kajabi import report"
    source_name: str = "Kajabi"
    product_key: str = "offer_id"
    product_labels: dict[str, tuple[str, str]] = field(default_factory=lambda: PRODUCT_LABELS)
    # Rows read but not imported, per kind (skip_label, rows): PayPal's non-sales.
    skipped: pl.DataFrame | None = None

    @property
    def skipped_rows(self) -> int:
        return 0 if self.skipped is None else int(self.skipped.get_column("rows").sum())


# What the report reads of each valid row.
REPORT_COLUMNS = (
    "transaction_date",
    "transaction_type",
    "status",
    "currency",
    "amount",
    "offer_id",
    "offer_title",
)


def top_products(valid: Rows, by: str, limit: int = 10, key: str = "offer_id") -> pl.DataFrame:
    """Top offers by completed revenue (`by="revenue"`) or by transaction count; offers are
    told apart by `key` (Kajabi's Offer ID; PayPal, which has none, by item title, compared
    normalized so its free-text spellings count as one)."""
    completed = pl.col("status") == REVENUE_STATUS
    offer = pl.col(key) if key == "offer_id" else normalize_name(key)
    ranked = (
        valid.lazy()
        .with_columns(offer.alias("_offer"))
        .filter(pl.col("_offer").is_not_null())
        .group_by("_offer", "currency")
        .agg(
            pl.col("offer_title").drop_nulls().last().alias("product"),
            pl.len().alias("transactions"),
            pl.col("amount").filter(completed).sum().alias("revenue"),
        )
        .sort([by, "_offer"], descending=[True, False])
        .head(limit)
        .rename({"_offer": "offer_id"})
        .collect(engine="streaming")
    )
    shown = ("product", "offer_id") if key == "offer_id" else ("product",)
    return ranked.select(*shown, "currency", "transactions", "revenue")


def quarantine_by_rule(quarantined: pl.DataFrame) -> pl.DataFrame:
    """How many rows each rule quarantined, with the first lines and one example reason."""
    if quarantined.is_empty():
        return pl.DataFrame(schema={"rule": pl.String, "rows": pl.UInt32, "lines": pl.String})
    return (
        quarantined.group_by("quarantine_rule")
        .agg(
            pl.len().alias("rows"),
            pl.col("_line").sort().head(10).cast(pl.String).str.join(", ").alias("lines"),
            pl.col("quarantine_reason").first().alias("example reason"),
        )
        .rename({"quarantine_rule": "rule"})
        .sort("rows", "rule", descending=[True, False])
    )


# What each count is called: (after a run that wrote, on a dry run that did not).
ROW_LABELS = {
    "rows_read": ("rows read", "rows read"),
    "quarantined": ("quarantined", "would quarantine"),
    "collapsed": ("identical duplicates collapsed", "identical duplicates would collapse"),
    "skipped": ("skipped (not sales)", "skipped (not sales)"),
    "valid": ("valid", "valid"),
    "loaded new": ("loaded (new)", "would load (new)"),
    "unchanged": ("unchanged (already loaded)", "unchanged (already loaded)"),
}
PRODUCT_LABELS = {
    "offer_id": ("matched by Offer ID", "matched by Offer ID"),
    "name": (
        "matched by name (Offer ID back-filled)",
        "matched by name (Offer ID would be back-filled)",
    ),
    "created": ("created", "would create"),
}
# PayPal's item titles: found by the operator's alias, by name, or not at all (never created).
TITLE_LABELS = {
    "alias": ("matched by alias (product_aliases)", "matched by alias (product_aliases)"),
    "name": ("matched by name", "matched by name"),
    "unmapped": ("no product (alias it)", "no product (alias it)"),
}
CONTACT_LABELS = {
    "contacts_created": ("contacts created", "would create contacts"),
    "phones_filled": ("empty phones filled", "would fill empty phones"),
    "addresses_filled": ("empty addresses filled", "would fill empty addresses"),
    "fields_filled": ("fields filled (each logged)", "would fill fields (each would be logged)"),
}


def render_import_report(inputs: ImportReportInputs) -> str:
    """The report as Markdown."""
    valid, dry_run = inputs.valid, inputs.dry_run
    title = inputs.title + (" (DRY RUN: nothing was written)" if dry_run else "")
    quarantine_title = "Rows that would be quarantined" if dry_run else "Quarantined rows"
    sections = [
        f"# {title}",
        f"- File: `{inputs.file_name}` (sha256 `{inputs.file_sha256[:12]}…`)",
        f"- Run: `{inputs.run_id}`",
        f"- Transactions dated {_date_range(valid)}",
        f"- {summary_sentence(inputs)}",
        *(f"- {note}" for note in inputs.notes),
        "## Rows",
        markdown_table(counts_frame(_row_counts(inputs), _row_labels(inputs), dry_run)),
        *_skipped_section(inputs),
        "## Revenue (completed rows only; refunds count negative)",
        markdown_table(revenue_by_currency(valid)),
        "### Failed and pending (not revenue)",
        markdown_table(not_revenue_by_status(valid)),
        "## By type and status",
        markdown_table(totals_by_kind(valid)),
        "## Top 10 products by revenue",
        markdown_table(top_products(valid, "revenue", key=inputs.product_key)),
        "## Top 10 products by transactions",
        markdown_table(top_products(valid, "transactions", key=inputs.product_key)),
        "## Products",
        markdown_table(counts_frame(inputs.product_counts, inputs.product_labels, dry_run)),
        "## Contacts",
        markdown_table(counts_frame(inputs.contact_counts, CONTACT_LABELS, dry_run)),
        f"## {quarantine_title}",
        markdown_table(quarantine_by_rule(inputs.quarantined)),
        "## Database totals per source system",
        "_Revenue: completed rows, per currency"
        + ("; a dry run changes nothing, so before and after agree._" if dry_run else "._"),
        markdown_table(_before_after(inputs.totals_before, inputs.totals_after)),
    ]
    return "\n\n".join(sections) + "\n"


def summary_sentence(inputs: ImportReportInputs) -> str:
    """What the run did, or on a dry run would do, in one sentence of counts."""
    load = inputs.load_counts
    new, updated = count(load.get("loaded new", 0)), count(load.get("updated", 0))
    contacts = count(inputs.contact_counts.get("contacts_created", 0))
    products = count(inputs.product_counts.get("created", 0))
    fields = count(inputs.contact_counts.get("fields_filled", 0))
    quarantined = count(inputs.quarantined.height)
    if inputs.dry_run:
        return (
            f"Would load {new} new transactions and update {updated}; would create {contacts} "
            f"contacts and {products} products; would fill {fields} empty contact fields; "
            f"would quarantine {quarantined} rows. Nothing was written."
        )
    return (
        f"Loaded {new} new transactions and updated {updated}; created {contacts} contacts "
        f"and {products} products; filled {fields} empty contact fields; quarantined "
        f"{quarantined} rows."
    )


def _date_range(valid: Rows) -> str:
    dates = pl.col("transaction_date")
    first, last = valid.lazy().select(dates.min(), dates.max().alias("last")).collect().row(0)
    if first is None:
        return "(no valid rows)"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"


def _row_counts(inputs: ImportReportInputs) -> dict[str, int]:
    skipped = {"skipped": inputs.skipped_rows} if inputs.skipped_rows else {}
    return {
        "rows_read": inputs.rows_read,
        **skipped,
        "quarantined": inputs.quarantined.height,
        "collapsed": inputs.collapsed,
        "valid": inputs.valid.lazy().select(pl.len()).collect().item(),
        **inputs.load_counts,
    }


def _row_labels(inputs: ImportReportInputs) -> dict[str, tuple[str, str]]:
    changed = f"changed in {inputs.source_name}"
    return {**ROW_LABELS, "updated": (f"updated ({changed})", f"would update ({changed})")}


def _skipped_section(inputs: ImportReportInputs) -> list[str]:
    if not inputs.skipped_rows:
        return []
    return ["## Skipped: read, not sales (never revenue)", markdown_table(inputs.skipped)]


def _before_after(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Rows and completed revenue per source system and currency; a system new to the
    warehouse shows 0."""
    keys = ["source_system", "currency"]
    joined = before.join(after, on=keys, how="full", coalesce=True, suffix="_after")
    return (
        joined.rename({"rows": "rows_before", "revenue": "revenue_before"})
        .with_columns(
            pl.col("rows_before", "rows_after").fill_null(0),
            pl.col("revenue_before", "revenue_after").fill_null(pl.lit(0).cast(pl.Decimal(38, 2))),
        )
        .select(*keys, "rows_before", "rows_after", "revenue_before", "revenue_after")
        .sort(keys)
    )
