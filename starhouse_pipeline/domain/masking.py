"""Masking personal data before it reaches logs, Dagster metadata or reports."""

from __future__ import annotations

import polars as pl


def mask_email(email: str | None) -> str | None:
    """`ann.lee@example.com` → `a***@example.com`."""
    if email is None:
        return None
    local, at, domain = email.strip().partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_email_expr(column: str) -> pl.Expr:
    """The same masking, vectorized."""
    local = pl.col(column).str.extract(r"^(.)[^@]*@", 1)
    domain = pl.col(column).str.extract(r"@(.*)$", 1)
    return (
        pl.when(domain.is_not_null())
        .then(pl.format("{}***@{}", local.fill_null(""), domain))
        .otherwise(pl.when(pl.col(column).is_not_null()).then(pl.lit("***")))
    )


def mask_name_expr(column: str) -> pl.Expr:
    """`Ann Lee` → `A. L.`: enough to tell rows apart, not to identify a person."""
    initials = (
        pl.col(column)
        .str.extract_all(r"(?:^|\s)(\w)")
        .list.eval(pl.element().str.strip_chars().str.to_uppercase() + ".")
    )
    return initials.list.join(" ")
