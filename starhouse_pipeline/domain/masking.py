"""Masking personal data before it reaches logs, Dagster metadata or reports."""

from __future__ import annotations

import re

import polars as pl

_EMAIL = re.compile(r"([^@\s\"'(]{1})[^@\s\"'(]*@([^@\s\"')]+)")
_DIGIT_RUN = re.compile(r"\+?\(?\d(?:[\s().-]*\d){6,}")
_QUOTED_VALUE = re.compile(r'(: )"[^"\n]*"$')


def mask_email_expr(column: str) -> pl.Expr:
    """`ann.lee@example.com` → `a***@example.com`, for a whole column."""
    local = pl.col(column).str.extract(r"^(.)[^@]*@", 1)
    domain = pl.col(column).str.extract(r"@(.*)$", 1)
    return (
        pl.when(domain.is_not_null())
        .then(pl.format("{}***@{}", local.fill_null(""), domain))
        .otherwise(pl.when(pl.col(column).is_not_null()).then(pl.lit("***")))
    )


def quoted_if_shaped(value: pl.Expr, shape: str, max_digits: int = 6) -> pl.Expr:
    """`'value'` when it has the given shape (a full-match regex) and at most `max_digits`
    digits, else `(value not shown)`.

    For messages that reach logs, metadata and reports: a value quoted from a row may be a
    name, email, phone or street that sits in the wrong column, so only values shaped like
    what the column should hold (a code, an amount, a date) are quoted.
    """
    digits = value.str.count_matches(r"\d")
    shaped = value.str.contains(f"^(?:{shape})$") & (digits <= max_digits)
    return (
        pl.when(value.is_null())
        .then(pl.lit("''"))
        .when(shaped)
        .then(pl.format("'{}'", value))
        .otherwise(pl.lit("(value not shown)"))
    )


def masked_identifier_expr(column: str) -> pl.Expr:
    """A transaction ID as metadata may show it: numeric IDs as they are, others hidden."""
    return (
        pl.when(pl.col(column).str.contains(r"^\d{1,18}$"))
        .then(pl.col(column))
        .otherwise(pl.when(pl.col(column).is_not_null()).then(pl.lit("(not shown)")))
    )


def mask_free_text(text: str) -> str:
    """A message that may quote data (a database error, say), made safe to log: emails
    masked, runs of 7+ digits hidden, and a "quoted value" ending a line hidden."""
    lines = []
    for line in text.splitlines():
        line = _EMAIL.sub(r"\1***@\2", line)
        line = _DIGIT_RUN.sub("<digits>", line)
        lines.append(_QUOTED_VALUE.sub(r"\1(value not shown)", line))
    return "\n".join(lines)
