"""The import report: what the operator's old script printed, correctly and without PII."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from starhouse_pipeline.domain.mapping import REVENUE_STATUS
from starhouse_pipeline.domain.reconciliation import (
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
    valid: pl.DataFrame
    rows_read: int
    quarantined: pl.DataFrame
    collapsed: int
    load_counts: dict[str, int]
    product_counts: dict[str, int]
    contact_counts: dict[str, int]
    totals_before: pl.DataFrame
    totals_after: pl.DataFrame
    notes: list[str] = field(default_factory=list)


def markdown_table(frame: pl.DataFrame, max_rows: int = 50) -> str:
    """A small frame as a Markdown table (the Dagster UI renders it)."""
    if frame.is_empty():
        return "_none_"
    shown = frame.head(max_rows)
    lines = [
        "| " + " | ".join(shown.columns) + " |",
        "|" + "---|" * len(shown.columns),
    ]
    for row in shown.iter_rows():
        cells = ("" if value is None else _cell(value) for value in row)
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > max_rows:
        lines.append(f"\n_{frame.height - max_rows} more rows not shown_")
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A value safe inside a Markdown table cell: no pipes, no line breaks."""
    return " ".join(str(value).split()).replace("|", "\\|")


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


def top_products(valid: pl.DataFrame, by: str, limit: int = 10) -> pl.DataFrame:
    """Top offers by completed revenue (`by="revenue"`) or by transaction count."""
    completed = pl.col("status") == REVENUE_STATUS
    ranked = (
        valid.filter(pl.col("offer_id").is_not_null())
        .group_by("offer_id", "currency")
        .agg(
            pl.col("offer_title").drop_nulls().last().alias("product"),
            pl.len().alias("transactions"),
            pl.col("amount").filter(completed).sum().alias("revenue"),
        )
        .sort([by, "offer_id"], descending=[True, False])
        .head(limit)
    )
    return ranked.select("product", "offer_id", "currency", "transactions", "revenue")


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


def render_import_report(inputs: ImportReportInputs) -> str:
    """The report as Markdown."""
    valid = inputs.valid
    title = "Kajabi import report" + (" (DRY RUN: nothing was written)" if inputs.dry_run else "")
    sections = [
        f"# {title}",
        f"- File: `{inputs.file_name}` (sha256 `{inputs.file_sha256[:12]}…`)",
        f"- Run: `{inputs.run_id}`",
        f"- Transactions dated {_date_range(valid)}",
        *(f"- {note}" for note in inputs.notes),
        "## Rows",
        markdown_table(_row_accounting(inputs)),
        "## Revenue (completed rows only; refunds count negative)",
        markdown_table(revenue_by_currency(valid)),
        "### Failed and pending (not revenue)",
        markdown_table(not_revenue_by_status(valid)),
        "## By type and status",
        markdown_table(totals_by_kind(valid)),
        "## Top 10 products by revenue",
        markdown_table(top_products(valid, "revenue")),
        "## Top 10 products by transactions",
        markdown_table(top_products(valid, "transactions")),
        "## Products",
        markdown_table(_counts_frame(inputs.product_counts)),
        "## Contacts",
        markdown_table(_counts_frame(inputs.contact_counts)),
        "## Quarantined rows",
        markdown_table(quarantine_by_rule(inputs.quarantined)),
        "## Database totals per source system",
        markdown_table(_before_after(inputs.totals_before, inputs.totals_after)),
    ]
    return "\n\n".join(sections) + "\n"


def _date_range(valid: pl.DataFrame) -> str:
    if valid.is_empty():
        return "(no valid rows)"
    first, last = valid["transaction_date"].min(), valid["transaction_date"].max()
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"


def _row_accounting(inputs: ImportReportInputs) -> pl.DataFrame:
    counts = {
        "rows read": inputs.rows_read,
        "quarantined": inputs.quarantined.height,
        "identical duplicates collapsed": inputs.collapsed,
        "valid": inputs.valid.height,
        **inputs.load_counts,
    }
    return _counts_frame(counts)


def _counts_frame(counts: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"what": list(counts), "count": [int(value) for value in counts.values()]},
        schema={"what": pl.String, "count": pl.Int64},
    )


def _before_after(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Rows and completed revenue per source system; a system new to the warehouse shows 0."""
    joined = before.join(after, on="source_system", how="full", coalesce=True, suffix="_after")
    return (
        joined.rename({"rows": "rows_before", "revenue": "revenue_before"})
        .with_columns(
            pl.col("rows_before", "rows_after").fill_null(0),
            pl.col("revenue_before", "revenue_after").fill_null(pl.lit(0).cast(pl.Decimal(38, 2))),
        )
        .select("source_system", "rows_before", "rows_after", "revenue_before", "revenue_after")
        .sort("source_system")
    )
