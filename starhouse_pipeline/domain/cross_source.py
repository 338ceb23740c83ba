"""The same payment in two sources: a Kajabi charge made through PayPal and PayPal's own row.

Kajabi can charge through PayPal, so one payment may sit in both exports. Two rows are one
payment when they have the same contact, amount and currency and lie within a time window
of each other; a row with two or more candidates is ambiguous and never paired, because
picking one would be a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from starhouse_pipeline.domain.fields import MONEY

# Kajabi records a PayPal charge when PayPal tells it, seconds to minutes later, and its
# export shows whole minutes; a subscription's next charge is weeks away. Ten minutes holds
# the first and cannot reach the second.
DEFAULT_WINDOW = timedelta(minutes=10)

INPUT_COLUMNS = (
    "transaction_id",
    "external_transaction_id",
    "contact_id",
    "amount",
    "currency",
    "transaction_date",
)
_MATCH_KEY = ("contact_id", "amount", "currency")
PAIR_COLUMNS = (
    "kajabi_transaction_id",
    "paypal_transaction_id",
    "kajabi_external_id",
    "paypal_external_id",
    "contact_id",
    "amount",
    "currency",
    "seconds_apart",
)
AMBIGUOUS_COLUMNS = (*PAIR_COLUMNS, "kajabi_candidates", "paypal_candidates")


@dataclass(frozen=True)
class SamePayments:
    """Pairs (one payment, two rows) with their evidence, and candidates that were ambiguous.

    `seconds_apart` is PayPal's time minus Kajabi's. In `ambiguous`, one row per candidate
    pair: `paypal_candidates` counts the PayPal rows its Kajabi row could be, and
    `kajabi_candidates` the Kajabi rows its PayPal row could be.
    """

    pairs: pl.DataFrame
    ambiguous: pl.DataFrame


def same_payments(
    kajabi: pl.DataFrame, paypal: pl.DataFrame, window: timedelta = DEFAULT_WINDOW
) -> SamePayments:
    """The Kajabi and PayPal rows that are one payment (Kajabi rows already PayPal-charged).

    Both frames hold `INPUT_COLUMNS`. Rows pair when contact, amount and currency are equal
    and their times are at most `window` apart; a row with more than one candidate is
    reported in `ambiguous` with every candidate, and none of them is paired.
    """
    candidates = _candidates(kajabi, paypal, window)
    counted = candidates.with_columns(
        pl.len().over("kajabi_transaction_id").alias("paypal_candidates"),
        pl.len().over("paypal_transaction_id").alias("kajabi_candidates"),
    )
    single = (pl.col("paypal_candidates") == 1) & (pl.col("kajabi_candidates") == 1)
    order = ["kajabi_transaction_id", "paypal_transaction_id"]
    return SamePayments(
        pairs=counted.filter(single).select(PAIR_COLUMNS).sort(order),
        ambiguous=counted.filter(~single).select(AMBIGUOUS_COLUMNS).sort(order),
    )


def _candidates(kajabi: pl.DataFrame, paypal: pl.DataFrame, window: timedelta) -> pl.DataFrame:
    """Every (Kajabi, PayPal) couple with the same contact, amount and currency in the window."""
    joined = _side(kajabi, "kajabi").join(_side(paypal, "paypal"), on=_MATCH_KEY, how="inner")
    apart = pl.col("paypal_date") - pl.col("kajabi_date")
    return joined.with_columns(apart.dt.total_seconds().alias("seconds_apart")).filter(
        apart.abs() <= window
    )


def _side(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """One source's rows under source-prefixed names, keyed alike for the join."""
    return frame.select(
        pl.col("transaction_id").cast(pl.String).alias(f"{source}_transaction_id"),
        pl.col("external_transaction_id").cast(pl.String).alias(f"{source}_external_id"),
        pl.col("contact_id").cast(pl.String),
        pl.col("amount").cast(MONEY),
        pl.col("currency"),
        pl.col("transaction_date").alias(f"{source}_date"),
    )
