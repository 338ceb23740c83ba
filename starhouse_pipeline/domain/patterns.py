"""The patterns every export's rules share, defined once.

An email, a currency code and a normalized name mean the same thing in the transactions,
Subscriptions and People exports (and in the pandera model), so each has one definition.
"""

from __future__ import annotations

import polars as pl

# Something@domain.tld: no spaces, one @, a dot in the domain and none at its end.
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
# An ISO 4217 code as Kajabi writes it: three capital letters.
CURRENCY = r"^[A-Z]{3}$"


def normalize_name(column: str | pl.Expr) -> pl.Expr:
    """A product or offer name with case, surrounding and repeated whitespace ignored."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
