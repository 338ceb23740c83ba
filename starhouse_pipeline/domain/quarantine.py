"""What people see of the quarantine: the share verdict, a masked sample, a safe CSV copy."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain.formatting import count, percent
from starhouse_pipeline.domain.masking import mask_email_expr, masked_identifier_expr

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ShareVerdict:
    """Whether the quarantined share of an export is acceptable, and why, in words."""

    passed: bool
    share: float
    threshold: float
    description: str


def quarantine_share_verdict(rows_read: int, quarantined: int, threshold: float) -> ShareVerdict:
    """Pass when at most `threshold` of the rows read were quarantined (zero rows pass)."""
    share = quarantined / rows_read if rows_read else 0.0
    passed = share <= threshold
    stated = f"{count(quarantined)} of {count(rows_read)} rows ({percent(share)}) quarantined"
    description = (
        f"{stated}, within the {percent(threshold)} threshold."
        if passed
        else f"{stated}, above the {percent(threshold)} threshold: nothing was loaded. Fix the "
        "export (the quarantined_rows table lists each line and reason) and import it again, "
        "or raise import_options.max_quarantine_share for this run."
    )
    return ShareVerdict(passed=passed, share=share, threshold=threshold, description=description)


def masked_sample(
    quarantined: pl.DataFrame, email_column: str | None, rows: int = 10
) -> pl.DataFrame:
    """The first quarantined rows as an operator may see them in the UI: no personal data.

    Line, ID, rule and reason (reasons already mask what they quote), plus the email of the
    raw row (its `email_column`), masked.
    """
    email = (
        pl.col("raw_json").str.json_path_match(f"$['{email_column}']").str.strip_chars()
        if email_column
        else pl.lit(None, pl.String)
    )
    return (
        quarantined.head(rows)
        .with_columns(email.alias("_email"))
        .select(
            pl.col("_line").alias("line"),
            masked_identifier_expr("source_row_id").alias("id"),
            pl.col("quarantine_rule").alias("rule"),
            pl.col("quarantine_reason").alias("reason"),
            mask_email_expr("_email").alias("email"),
        )
    )


def neutralize_formula(value: str | None) -> str | None:
    """Prefix a cell that a spreadsheet would run as a formula with `'`, as OWASP advises."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def quarantine_csv(rows: pl.DataFrame) -> str:
    """Quarantined rows as CSV for a spreadsheet, every text cell formula-safe.

    `rows` is what `read_quarantine` returns (or any all-text frame). The leading `'` is what
    spreadsheets themselves use to mark a cell as text, so the value reads the same.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows.columns)
    for row in rows.iter_rows():
        writer.writerow(
            neutralize_formula(value) if isinstance(value, str) else value for value in row
        )
    return buffer.getvalue()
