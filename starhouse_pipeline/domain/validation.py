"""From raw export rows to validated transactions plus a quarantine, with every row accounted for.

A row ends in exactly one of three places: `valid` (goes on to load), `quarantined` (kept with
its line and reason), or `collapsed` (an identical repeat of a valid row with the same ID).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from starhouse_pipeline.domain.export_contract import TRANSACTION_COLUMNS
from starhouse_pipeline.domain.parsing import QUARANTINE_REASON, QUARANTINE_RULE, type_export_rows
from starhouse_pipeline.domain.reading import (
    EXTRA_FIELDS_COLUMN,
    LINE_COLUMN,
    ExportFile,
    RawExport,
)
from starhouse_pipeline.domain.schema import TypedTransaction

RAW_JSON = "raw_json"
QUARANTINE_COLUMNS = (LINE_COLUMN, "external_transaction_id", QUARANTINE_RULE, QUARANTINE_REASON)
_SCHEMA_RULES_BY_CHECK = {
    "refund_amount_is_not_positive": "refund is positive",
    "sale_amount_is_not_negative": "purchase or subscription is negative",
}


@dataclass(frozen=True)
class ValidatedTransactions:
    """The outcome of validating one export."""

    file: ExportFile
    rows_read: int
    valid: pl.DataFrame
    quarantined: pl.DataFrame
    collapsed_lines: list[int]

    @property
    def accounted_rows(self) -> int:
        return self.valid.height + self.quarantined.height + len(self.collapsed_lines)


def validate_export(raw: RawExport) -> ValidatedTransactions:
    """Type, check and de-duplicate one export's rows."""
    typed = type_export_rows(raw.rows).with_columns(raw_source_json(raw.header.canonical_names))
    # From here the original text lives on in raw_json; dropping the text columns halves
    # what every later step holds and hands on.
    typed = typed.drop(c for c in raw.rows.columns if c != LINE_COLUMN)
    typed = _apply_schema(typed)
    typed, collapsed_lines = _collapse_identical_duplicates(typed)
    typed = _flag_conflicting_duplicates(typed)
    is_bad = typed.get_column(QUARANTINE_RULE).is_not_null()
    valid = typed.filter(~is_bad) if is_bad.any() else typed
    return ValidatedTransactions(
        file=raw.file,
        rows_read=raw.rows.height,
        valid=valid.drop(QUARANTINE_RULE, QUARANTINE_REASON),
        quarantined=typed.filter(is_bad).select(*QUARANTINE_COLUMNS, RAW_JSON),
        collapsed_lines=collapsed_lines,
    )


def raw_source_json(header: tuple[str, ...]) -> pl.Expr:
    """The original CSV row as a JSON object, keyed by the file's own column names.

    A row with more fields than the header keeps the surplus under `"_extra_fields"`.
    """
    columns = [name for name in header if name != ""] or list(TRANSACTION_COLUMNS)
    row = pl.struct(pl.col(name) for name in columns).struct.json_encode()
    with_extra = pl.concat_str(
        row.str.strip_suffix("}"),
        pl.lit(',"_extra_fields":'),
        pl.col(EXTRA_FIELDS_COLUMN),
        pl.lit("}"),
    )
    return (
        pl.when(pl.col(EXTRA_FIELDS_COLUMN).is_null())
        .then(row)
        .otherwise(with_extra)
        .alias(RAW_JSON)
    )


def _apply_schema(typed: pl.DataFrame) -> pl.DataFrame:
    """Run the pandera contract on rows that passed the parsing rules; record its failures."""
    candidates = typed.with_row_index("_row").filter(pl.col(QUARANTINE_RULE).is_null())
    try:
        TypedTransaction.validate(candidates, lazy=True)
        return typed
    except pa.errors.SchemaErrors as errors:
        failures = _schema_failures(errors.failure_cases, candidates)
    return (
        typed.with_row_index("_row")
        .join(failures, on="_row", how="left")
        .with_columns(
            pl.coalesce(QUARANTINE_RULE, "_schema_rule").alias(QUARANTINE_RULE),
            pl.coalesce(QUARANTINE_REASON, "_schema_reason").alias(QUARANTINE_REASON),
        )
        .drop("_row", "_schema_rule", "_schema_reason")
    )


def _schema_failures(failure_cases: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """One (rule, reason) per failing row; failure values are not copied (they may be PII)."""
    rule = pl.col("check")
    reason = (
        pl.col("check")
        .replace_strict(_SCHEMA_RULES_BY_CHECK, default=None)
        .fill_null(pl.format("{} fails {}", pl.col("column"), pl.col("check")))
    )
    per_case = (
        failure_cases.filter(pl.col("index").is_not_null())
        .select(pl.col("index").cast(pl.UInt32).alias("_candidate"), rule, reason.alias("reason"))
        .group_by("_candidate", maintain_order=True)
        .agg(pl.col("check").first().alias("_schema_rule"), pl.col("reason").str.join("; "))
    )
    row_of_candidate = candidates.select(pl.col("_row")).with_row_index("_candidate")
    return per_case.join(row_of_candidate, on="_candidate").select(
        "_row", "_schema_rule", pl.col("reason").alias("_schema_reason")
    )


def _collapse_identical_duplicates(typed: pl.DataFrame) -> tuple[pl.DataFrame, list[int]]:
    """Keep the first of rows that repeat the same ID with the very same content."""
    repeat = pl.col(LINE_COLUMN).rank("ordinal").over("external_transaction_id", RAW_JSON) > 1
    has_id = pl.col("external_transaction_id").is_not_null()
    is_repeat = typed.select((repeat & has_id).fill_null(False)).to_series()
    if not is_repeat.any():
        return typed, []
    collapsed = typed.filter(is_repeat).get_column(LINE_COLUMN).to_list()
    return typed.filter(~is_repeat), collapsed


def _flag_conflicting_duplicates(typed: pl.DataFrame) -> pl.DataFrame:
    """Quarantine every row of an ID that appears with different content: no guessing."""
    rows_with_id = pl.len().over("external_transaction_id")
    lines = pl.col(LINE_COLUMN).cast(pl.String).str.join(", ").over("external_transaction_id")
    conflicting = (rows_with_id > 1) & pl.col("external_transaction_id").is_not_null()
    return typed.with_columns(
        pl.when(conflicting & pl.col(QUARANTINE_RULE).is_null())
        .then(pl.lit("unique_id"))
        .otherwise(pl.col(QUARANTINE_RULE))
        .alias(QUARANTINE_RULE),
        pl.when(conflicting & pl.col(QUARANTINE_RULE).is_null())
        .then(
            pl.format(
                "ID {} appears with different values on lines {}",
                pl.col("external_transaction_id"),
                lines,
            )
        )
        .otherwise(pl.col(QUARANTINE_REASON))
        .alias(QUARANTINE_REASON),
    )
