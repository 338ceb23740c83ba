"""Kajabi's Subscriptions export: read, type, validate, with a quarantine like the transactions.

Also home of the small generic reader both the Subscriptions and the People export use: the
transactions reader is tied to that export's 28-column contract, these exports are simpler
(one record per line in practice), so the strict `csv` module reads them directly, keeping
each record's first line number.

A row lands in exactly one place: valid, quarantined (line, rule, reason, raw row), or
collapsed (an identical repeat of a valid row with the same subscription ID).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.analytics.frames import divide_money
from starhouse_pipeline.domain.reading import (
    LINE_COLUMN,
    ExportFile,
    ExportFileError,
    decode_export,
)

SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "Kajabi Subscription ID",
    "Customer Email",
    "Customer Name",
    "Customer ID",
    "Offer ID",
    "Offer Title",
    "Amount",
    "Currency",
    "Interval",
    "Status",
    "Created At",
    "Next Payment Date",
    "Canceled On",
    "Trial Ends On",
    "Provider",
    "Coupon Used",
)
REQUIRED_SUBSCRIPTION_COLUMNS = (
    "Kajabi Subscription ID",
    "Customer Email",
    "Offer ID",
    "Amount",
    "Currency",
    "Interval",
    "Status",
)
RULE, REASON, RAW_JSON = "quarantine_rule", "quarantine_reason", "raw_json"
# The quarantine frames' key for a row's own id (stored as quarantined_rows.source_row_id).
ID_COLUMN = "external_transaction_id"

INTERVAL_MONTHS = {
    "month": 1,
    "monthly": 1,
    "1 month": 1,
    "quarter": 3,
    "quarterly": 3,
    "3 months": 3,
    "year": 12,
    "yearly": 12,
    "annual": 12,
    "annually": 12,
    "1 year": 12,
    "12 months": 12,
}
SUBSCRIPTION_STATUSES = {
    "active": "active",
    "canceled": "canceled",
    "cancelled": "canceled",
    "paused": "paused",
    "trial": "trial",
    "trialing": "trial",
    "pending cancellation": "pending_cancellation",
    "past due": "past_due",
    "past_due": "past_due",
}
# Statuses whose subscription still pays at the end of the month (ChartMogul counts a
# subscription until it actually ends, so a pending cancellation is still MRR).
PAYING_STATUSES = ("active", "pending_cancellation", "past_due")
_AMOUNT = r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"
_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%m/%d/%Y")


@dataclass(frozen=True)
class TextExport:
    """One export as read: every value text, plus the line each record starts on."""

    file: ExportFile
    header: tuple[str, ...]
    rows: pl.DataFrame


@dataclass(frozen=True)
class ValidatedExport:
    file: ExportFile
    rows_read: int
    valid: pl.DataFrame
    quarantined: pl.DataFrame
    collapsed_lines: list[int]


def read_text_export(
    path: str | Path, known: Sequence[str], required: Sequence[str], kind: str
) -> TextExport:
    """Read a Kajabi CSV export whose header must contain `required`.

    Header names matching `known` columns (ignoring case and spacing) take the known
    spelling; other columns are kept as they are.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportFileError(f"{path}: no such file")
    data = path.read_bytes()
    text, encoding = decode_export(path.name, data)
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header, records, lines = _records(reader)
    except csv.Error as error:
        raise ExportFileError(
            f"{path.name}: line {reader.line_num}: malformed CSV ({error})"
        ) from error
    header = _canonical_header(header, known)
    missing = [column for column in required if column not in header]
    if missing:
        raise ExportFileError(
            f"{path.name}: not a usable Kajabi {kind} export: missing column(s) "
            + ", ".join(missing)
        )
    width = len(header)
    columns = {
        name: [record[index] if index < len(record) else None for record in records]
        for index, name in enumerate(header)
    }
    rows = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String)).with_columns(
        pl.Series(LINE_COLUMN, lines, dtype=pl.Int64),
        pl.Series("_fields", [len(r) for r in records], dtype=pl.Int64).ne(width).alias("_ragged"),
    )
    file = ExportFile(
        path=str(path),
        name=path.name,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
    )
    return TextExport(file=file, header=header, rows=rows)


def _records(reader: csv.reader) -> tuple[list[str], list[list[str]], list[int]]:
    header: list[str] = []
    records: list[list[str]] = []
    lines: list[int] = []
    next_line = 1
    for record in reader:
        if not header:
            header = record
        elif record and any(value.strip() for value in record):
            records.append(record)
            lines.append(next_line)
        next_line = reader.line_num + 1
    if not header:
        raise csv.Error("the file has no header row")
    return header, records, lines


def _canonical_header(header: list[str], known: Sequence[str]) -> tuple[str, ...]:
    def normal(name: str) -> str:
        return " ".join(name.replace("\ufeff", "").split()).casefold()

    by_normal = {normal(column): column for column in known}
    names = [by_normal.get(normal(name), name.strip()) for name in header]
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # a repeated column keeps its data under a numbered name
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return tuple(unique)


def text(column: str) -> pl.Expr:
    """A field with surrounding whitespace removed; empty (or absent) becomes null."""
    stripped = pl.col(column).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def parse_date(column: str) -> pl.Expr:
    return pl.coalesce(text(column).str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS)


def _typed_columns() -> list[pl.Expr]:
    amount = text("Amount")
    interval = text("Interval").str.to_lowercase()
    status = text("Status").str.to_lowercase().str.replace_all(r"\s+", " ")
    return [
        text("Kajabi Subscription ID").alias("external_subscription_id"),
        text("Customer Email").str.to_lowercase().alias("email"),
        text("Customer ID").alias("kajabi_customer_id"),
        text("Offer ID").alias("kajabi_offer_id"),
        text("Offer Title").alias("offer_title"),
        pl.when(amount.str.contains(_AMOUNT))
        .then(amount.str.replace_all(r"[$,]", "").str.to_decimal(scale=2))
        .cast(pl.Decimal(12, 2))
        .alias("amount"),
        text("Currency").str.to_uppercase().alias("currency"),
        interval.alias("billing_interval"),
        interval.replace_strict(INTERVAL_MONTHS, default=None, return_dtype=pl.Int64).alias(
            "interval_months"
        ),
        status.alias("kajabi_status"),
        status.replace_strict(SUBSCRIPTION_STATUSES, default=None).alias("status"),
        parse_date("Created At").alias("started_on"),
        parse_date("Next Payment Date").alias("next_payment_on"),
        parse_date("Canceled On").alias("canceled_on"),
        parse_date("Trial Ends On").alias("trial_ends_on"),
        text("Provider").alias("provider"),
        text("Coupon Used").alias("coupon_used"),
    ]


def _bad_date(source: str, parsed: str) -> tuple[pl.Expr, pl.Expr]:
    fails = text(source).is_not_null() & pl.col(parsed).is_null()
    return fails, pl.format("{} '{}' is not a date", pl.lit(source), text(source))


def _rules() -> list[tuple[str, pl.Expr, pl.Expr]]:
    rules = [
        ("well_formed_row", pl.col("_ragged"), pl.lit("row has a different number of fields")),
        ("id_present", pl.col("external_subscription_id").is_null(), pl.lit("ID is empty")),
        (
            "email_valid",
            ~pl.col("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit("Customer Email is missing or malformed"),
        ),
        (
            "amount_parses",
            pl.col("amount").is_null(),
            pl.format("Amount '{}' is not a dollar amount", text("Amount")),
        ),
        (
            "currency_code",
            ~pl.col("currency").str.contains(patterns.CURRENCY).fill_null(False),
            pl.format("Currency '{}' is not an ISO code", pl.col("currency")),
        ),
        (
            "known_interval",
            pl.col("interval_months").is_null(),
            pl.format("unknown Interval '{}'", pl.col("billing_interval")),
        ),
        (
            "known_status",
            pl.col("status").is_null(),
            pl.format("unknown Status '{}'", pl.col("kajabi_status")),
        ),
    ]
    for source, parsed in (
        ("Created At", "started_on"),
        ("Next Payment Date", "next_payment_on"),
        ("Canceled On", "canceled_on"),
        ("Trial Ends On", "trial_ends_on"),
    ):
        fails, reason = _bad_date(source, parsed)
        rules.append((f"{parsed}_parses", fails, reason))
    return rules


def raw_json(header: Sequence[str]) -> pl.Expr:
    return pl.struct(pl.col(name) for name in header).struct.json_encode().alias(RAW_JSON)


def quarantine_columns(
    typed: pl.DataFrame, rules: list[tuple[str, pl.Expr, pl.Expr]]
) -> pl.DataFrame:
    """Add the first failing rule and every failing reason to each row."""
    failing = [pl.when(fails.fill_null(False)).then(reason) for _, fails, reason in rules]
    first = pl.coalesce(
        pl.when(fails.fill_null(False)).then(pl.lit(name)) for name, fails, _ in rules
    )
    return typed.with_columns(
        first.alias(RULE),
        pl.concat_str(failing, separator="; ", ignore_nulls=True).replace("", None).alias(REASON),
    )


def split_duplicates(typed: pl.DataFrame, key: str) -> tuple[pl.DataFrame, list[int]]:
    """Collapse identical repeats of a key; quarantine every row of a conflicting key."""
    repeat = pl.col(LINE_COLUMN).rank("ordinal").over(key, RAW_JSON) > 1
    is_repeat = typed.select((repeat & pl.col(key).is_not_null()).fill_null(False)).to_series()
    collapsed = typed.filter(is_repeat).get_column(LINE_COLUMN).to_list()
    typed = typed.filter(~is_repeat)
    conflicting = (pl.len().over(key) > 1) & pl.col(key).is_not_null() & pl.col(RULE).is_null()
    lines = pl.col(LINE_COLUMN).cast(pl.String).str.join(", ").over(key)
    typed = typed.with_columns(
        pl.when(conflicting).then(pl.lit("unique_id")).otherwise(pl.col(RULE)).alias(RULE),
        pl.when(conflicting)
        .then(pl.format("ID {} appears with different values on lines {}", pl.col(key), lines))
        .otherwise(pl.col(REASON))
        .alias(REASON),
    )
    return typed, collapsed


def validate_subscriptions(export: TextExport) -> ValidatedExport:
    """Type and check every row; valid rows go on, the rest are quarantined with reasons."""
    rows = export.rows.with_columns(
        pl.lit(None, pl.String).alias(c) for c in SUBSCRIPTION_COLUMNS if c not in export.header
    )
    typed = rows.with_columns(_typed_columns()).with_columns(raw_json(export.header))
    typed = quarantine_columns(typed, _rules())
    typed, collapsed = split_duplicates(typed, "external_subscription_id")
    bad = pl.col(RULE).is_not_null()
    return ValidatedExport(
        file=export.file,
        rows_read=export.rows.height,
        valid=typed.filter(~bad).drop(RULE, REASON),
        quarantined=typed.filter(bad).select(
            LINE_COLUMN,
            pl.col("external_subscription_id").alias(ID_COLUMN),
            RULE,
            REASON,
            RAW_JSON,
        ),
        collapsed_lines=collapsed,
    )


def read_subscriptions_export(path: str | Path) -> TextExport:
    return read_text_export(
        path, SUBSCRIPTION_COLUMNS, REQUIRED_SUBSCRIPTION_COLUMNS, "Subscriptions"
    )


def row_hash() -> pl.Expr:
    """A stable fingerprint of a row's source data, to tell changed rows from unchanged."""
    return (
        pl.col(RAW_JSON)
        .map_elements(lambda raw: hashlib.sha256(raw.encode()).hexdigest(), return_dtype=pl.String)
        .alias("source_row_hash")
    )


def totals_by_status(frame: pl.DataFrame) -> pl.DataFrame:
    """Row count and exact amount per (status, currency): the reconciliation keys."""
    return (
        frame.group_by("status", "currency")
        .agg(pl.len().cast(pl.Int64).alias("rows"), pl.col("amount").sum().alias("amount"))
        .sort("status", "currency")
    )


def export_mrr(subscriptions: pl.DataFrame) -> pl.DataFrame:
    """What the export says each customer pays per month now: paying subscriptions only,
    amount ÷ interval months to the cent."""
    return (
        subscriptions.filter(pl.col("status").is_in(PAYING_STATUSES))
        .with_columns(divide_money(pl.col("amount"), pl.col("interval_months")).alias("_monthly"))
        .group_by("contact_id", "currency")
        .agg(pl.col("_monthly").sum().alias("export_mrr"))
    )


def link_products(valid: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Each subscription's product: by Offer ID, else by a unique normalized name whose
    product carries no other Offer ID. Never creates products: the rest stay unmapped
    (product_id null) and are reported."""
    by_offer = products.filter(pl.col("kajabi_offer_id").is_not_null()).select(
        pl.col("kajabi_offer_id"), pl.col("id").alias("_by_offer")
    )
    name_key = patterns.normalize_name("name")
    by_name = (
        products.with_columns(name_key.alias("_name"))
        .filter(pl.len().over("_name") == 1)
        .select("_name", pl.col("id").alias("_by_name"), pl.col("kajabi_offer_id").alias("_other"))
    )
    title_key = patterns.normalize_name("offer_title")
    linked = (
        valid.with_columns(title_key.alias("_name"))
        .join(by_offer, on="kajabi_offer_id", how="left")
        .join(by_name, on="_name", how="left")
    )
    name_fits = pl.col("_other").is_null() | (pl.col("_other") == pl.col("kajabi_offer_id"))
    return linked.with_columns(
        pl.coalesce("_by_offer", pl.when(name_fits).then(pl.col("_by_name"))).alias("product_id")
    ).drop("_name", "_by_offer", "_by_name", "_other")


def unmapped_offers(linked: pl.DataFrame) -> pl.DataFrame:
    """Offers of subscriptions that have no product: id, title and how many subscriptions."""
    return (
        linked.filter(pl.col("product_id").is_null())
        .group_by("kajabi_offer_id")
        .agg(pl.col("offer_title").drop_nulls().first(), pl.len().alias("subscriptions"))
        .sort("subscriptions", "kajabi_offer_id", descending=[True, False])
    )


SUBSCRIPTION_RECORD_COLUMNS = (
    "external_subscription_id",
    "contact_id",
    "product_id",
    "kajabi_customer_id",
    "kajabi_offer_id",
    "offer_title",
    "amount",
    "currency",
    "billing_interval",
    "interval_months",
    "status",
    "started_on",
    "next_payment_on",
    "canceled_on",
    "trial_ends_on",
    "provider",
    "coupon_used",
    RAW_JSON,
    "source_row_hash",
)


def subscription_records(linked: pl.DataFrame, contact_ids: pl.DataFrame) -> pl.DataFrame:
    """Rows for the `subscriptions` table: typed values, links, raw row and its hash."""
    return (
        linked.join(contact_ids, on="email", how="left")
        .with_columns(row_hash())
        .select(SUBSCRIPTION_RECORD_COLUMNS)
    )


@dataclass(frozen=True)
class SubscriptionImport:
    """What importing one Subscriptions export did (counts and ids, no personal data)."""

    file: ExportFile
    dry_run: bool
    rows_read: int
    quarantined: int
    collapsed: int
    valid_ids: list[str]
    expected_totals: pl.DataFrame
    counts: dict[str, int]
    unmapped_offers: pl.DataFrame
    without_contact: int

    @property
    def accounted_rows(self) -> int:
        written = self.counts["inserted"] + self.counts["updated"] + self.counts["unchanged"]
        return written + self.quarantined + self.collapsed


# Kajabi's status (as validated) -> the CRM's `subscription_status`. The CRM has no state for
# a cancellation that takes effect at the end of the paid period, nor for a card being
# retried: both subscriptions are still running, so both are `active` there (the import's
# own table keeps Kajabi's exact status for the MRR definition).
CRM_SUBSCRIPTION_STATUS = {
    "active": "active",
    "trial": "trial",
    "paused": "paused",
    "canceled": "canceled",
    "pending_cancellation": "active",
    "past_due": "active",
}
# CRM `subscriptions` column <- import record column.
CRM_SUBSCRIPTION_COLUMNS = {
    "kajabi_subscription_id": "external_subscription_id",
    "contact_id": "contact_id",
    "product_id": "product_id",
    "status": "status",
    "amount": "amount",
    "currency": "currency",
    "billing_cycle": "billing_interval",
    "start_date": "started_on",
    "trial_end_date": "trial_ends_on",
    "cancellation_date": "canceled_on",
    "next_billing_date": "next_payment_on",
    "payment_processor": "provider",
    "coupon_code": "coupon_used",
}


def crm_subscription_rows(records: pl.DataFrame) -> pl.DataFrame:
    """Import records in the CRM `subscriptions` table's terms (its column names, its status
    values). A record without a contact has no CRM row: the CRM requires one."""
    return records.filter(pl.col("contact_id").is_not_null()).select(
        *(
            pl.col(source).replace_strict(CRM_SUBSCRIPTION_STATUS, default=None).alias(column)
            if column == "status"
            else pl.col(source).alias(column)
            for column, source in CRM_SUBSCRIPTION_COLUMNS.items()
        )
    )


def quarantine_refused(validated: ValidatedExport, refused: pl.DataFrame) -> ValidatedExport:
    """Move the subscriptions the CRM would refuse (`refused`: kajabi_subscription_id, rule,
    reason) from the valid rows to the quarantine, each with its line and original row."""
    if refused.is_empty():
        return validated
    refused = refused.unique("kajabi_subscription_id", keep="first").rename(
        {"kajabi_subscription_id": "external_subscription_id", "rule": RULE, "reason": REASON}
    )
    moved = validated.valid.join(refused, on="external_subscription_id").select(
        LINE_COLUMN,
        pl.col("external_subscription_id").alias(ID_COLUMN),
        RULE,
        REASON,
        RAW_JSON,
    )
    return dataclasses.replace(
        validated,
        valid=validated.valid.join(refused, on="external_subscription_id", how="anti"),
        quarantined=pl.concat([validated.quarantined, moved]).sort(LINE_COLUMN),
    )
